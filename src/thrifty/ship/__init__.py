"""Ship: a chunked, deduplicated, resumable model store over folders, HTTP and S3.

``th.push(file, store, "name@version")`` uploads only the chunks the store lacks;
``th.pull(store, "name@version", dest)`` fetches only the chunks the local cache lacks, checks
every byte, resumes after an interruption and publishes the file atomically. A tensor that
changed a little since the version ``latest`` pointed at also gets a small delta, which a
receiver holding that version fetches instead of the tensor's record. docs/STORE.md is the
layout and protocol.
"""

from thrifty.ship.cache import Cache
from thrifty.ship.maintenance import collect_garbage, list_versions
from thrifty.ship.pull import Pulled, pull
from thrifty.ship.push import Pushed, push
from thrifty.ship.store import open_store

__all__ = ["Cache", "Pulled", "Pushed", "collect_garbage", "list_versions", "open_store", "pull"]
__all__ += ["push"]
