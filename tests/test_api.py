import thrifty as th


def test_all_names_resolve():
    for name in th.__all__:
        assert getattr(th, name) is not None, name
    assert sorted(dir(th)) == sorted(th.__all__)


def test_errors_are_one_tree():
    for name in dir(th.errors):
        value = getattr(th.errors, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, th.ThriftyError), name
