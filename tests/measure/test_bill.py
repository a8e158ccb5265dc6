"""The bill follows docs/COST.md's formulas, checked on numbers worked out by hand."""

import pytest

from thrifty.errors import PricingError
from thrifty.measure import Bill, Workload, load_pricing
from thrifty.measure.bill import GB
from thrifty.measure.cost import Bandwidth, Compute, Cost, Storage
from thrifty.measure.quality import Quality
from thrifty.measure.timing import Latency, Throughput


def _cost(samples_per_s=1000.0, threads=2, device="cpu", size=GB // 100):
    compute = Compute(
        "onnxruntime",
        device,
        threads,
        Latency(1.0, 2.0, 10),
        Throughput(samples_per_s, 32, 0.0, 5),
        0,
        1000,
    )
    return Cost(
        "m",
        compute,
        Storage(size, 10, "onnx"),
        Bandwidth(size, 100, 40),
        Quality("accuracy", 0.9, 10, "test"),
    )


@pytest.mark.parametrize("name", [None, "internet", "same-zone"])
def test_bundled_profiles_name_a_source_and_date_for_every_price(name):
    pricing = load_pricing(name)
    for price in pricing.prices.values():
        assert price.source and price.date and price.unit and price.usd >= 0


def test_the_same_zone_profile_prices_only_compute_and_storage():
    bill = Bill.of(_cost(), load_pricing("same-zone"), Workload())
    assert bill.bandwidth_usd == 0 and bill.compute_usd > 0 and bill.storage_usd > 0
    assert load_pricing("internet") == load_pricing()


def test_bill_by_hand():
    pricing = load_pricing()
    workload = Workload(
        inferences_per_month=3_600_000, replicas=3, deploys_per_month=2, versions_kept=5
    )
    bill = Bill.of(_cost(), pricing, workload)
    # 3.6M inferences x 2 cores / 1000 per s = 7200 core-seconds = 2 core-hours
    assert bill.compute_usd == pytest.approx(2 * pricing["cpu_core_hour"])
    # 0.01 GB x 5 versions
    assert bill.storage_usd == pytest.approx(0.05 * pricing["storage_gb_month"])
    deploy = 0.01 * 3 * 2 * pricing["deploy_gb"]
    responses = 3_600_000 * 40 / GB * pricing["egress_gb"]
    requests = 3_600_000 * 100 / GB * pricing["ingress_gb"]
    assert bill.bandwidth_usd == pytest.approx(deploy + responses + requests)
    assert bill.usd_per_million == pytest.approx(bill.total_usd / 3.6)


def test_gpu_compute_is_paid_per_gpu_hour():
    pricing = load_pricing()
    bill = Bill.of(_cost(device="cuda"), pricing, Workload(inferences_per_month=3_600_000))
    assert bill.compute_usd == pytest.approx(1 * pricing["gpu_hour"])


def test_twice_the_throughput_halves_compute():
    pricing = load_pricing()
    slow, fast = (Bill.of(_cost(samples_per_s=s), pricing) for s in (1000.0, 2000.0))
    assert fast.compute_usd == pytest.approx(slow.compute_usd / 2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name = 'x'\n[prices", "not valid TOML"),
        ("name = 'x'\n", r"lacks \[prices.cpu_core_hour\]"),
    ],
)
def test_bad_profiles(tmp_path, text, message):
    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(PricingError, match=message):
        load_pricing(path)


def test_a_price_without_its_source_is_refused(tmp_path):
    from thrifty.measure.pricing import DEFAULT

    text = DEFAULT.read_text().replace('source = "aws.amazon.com/s3/pricing', 'note = "')
    (tmp_path / "p.toml").write_text(text)
    with pytest.raises(PricingError, match="storage_gb_month.source is missing"):
        load_pricing(tmp_path / "p.toml")


def test_missing_profile_and_bad_workload(tmp_path):
    with pytest.raises(PricingError, match="does not exist"):
        load_pricing(tmp_path / "none.toml")
    with pytest.raises(PricingError, match="replicas"):
        Workload(replicas=-1)
