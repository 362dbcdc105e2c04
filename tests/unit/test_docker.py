"""What can be checked of docker/ without a Docker engine."""

import configparser
import json
import re
from pathlib import Path

import yaml

from app import metrics  # noqa: F401  (registers txwatch's metrics)

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"


def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def test_compose_has_the_services_and_their_dependencies_exist():
    services = compose()["services"]
    assert {"kafka", "postgres", "train", "worker", "simulator", "prometheus", "grafana"} <= set(
        services
    )
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, (name, dependency)
    assert compose()["volumes"].keys() >= {"kafka-data", "pgdata", "models"}
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]


def test_the_worker_scales():
    worker = compose()["services"]["worker"]
    assert "container_name" not in worker  # a fixed name forbids --scale
    (ports,) = worker["ports"]
    published, _, container = ports.partition(":")
    assert "-" in published  # one host port per replica
    assert container == "6066"
    assert worker["environment"]["BROKER_URL"] == "kafka://kafka:9092"
    assert "postgres:5432" in worker["environment"]["DATABASE_URL"]


def test_third_party_images_are_pinned_and_monitoring_is_optional():
    services = compose()["services"]
    for name in ("kafka", "postgres", "prometheus", "grafana"):
        image = services[name]["image"]
        assert ":" in image, image
        assert not image.endswith(":latest"), image
    assert services["prometheus"]["profiles"] == ["monitoring"]
    assert services["grafana"]["profiles"] == ["monitoring"]
    assert "profiles" not in services["worker"]


def test_kafka_runs_kraft_without_auto_created_topics():
    env = compose()["services"]["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_the_dockerfile_is_slim_non_root_and_copies_every_package():
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", dockerfile, re.M)
    assert re.search(r"^USER txwatch", dockerfile, re.M)
    # The dependency layer is built from the packaging files alone.
    first_copy = re.search(r"^COPY (.+) \./$", dockerfile, re.M)
    assert first_copy is not None
    packaging = ["setup.cfg", "pyproject.toml", "README.md", "constraints.txt"]
    assert first_copy.group(1).split() == packaging
    assert "pip install -c constraints.txt ." in dockerfile  # the tested versions
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    packages = {
        name.strip()
        for name in setup["options.packages.find"]["include"].split()
        if name.strip() and not name.strip().endswith(".*")
    }
    copied = set(re.findall(r"^COPY (\w+) \1$", dockerfile, re.M))
    assert copied == packages
    assert "EXPOSE 6066" in dockerfile


def test_prometheus_scrapes_the_workers_web_port():
    config = yaml.safe_load((DOCKER / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    (sd,) = job["dns_sd_configs"]
    assert sd["names"] == ["worker"]
    assert sd["port"] == 6066


def test_the_grafana_dashboard_only_queries_metrics_that_exist():
    from prometheus_client import REGISTRY

    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}
    exported = set()
    for family in REGISTRY.collect():  # labelled metrics have no sample until used
        exported.add(family.name)
        exported.update(family.name + suffix for suffix in suffixes.get(family.type, []))
    dashboard = json.loads((DOCKER / "grafana" / "dashboards" / "txwatch.json").read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\b(txwatch_\w+)", target["expr"])
    }
    assert queried
    assert queried <= exported, queried - exported
    provisioning = yaml.safe_load(
        (DOCKER / "grafana" / "provisioning" / "dashboards" / "txwatch.yml").read_text()
    )
    assert provisioning["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
