"""The event catalogue (docs/events/asyncapi.json) is a contract: every event the publisher produces
matches its message's schema and source, every documented message is produced, and the code's types,
the bus rules and the catalogue name the same set."""

import copy
import json
import subprocess
import tomllib
from functools import cache
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[2]


@cache
def catalogue():
    return json.loads((ROOT / "docs/events/asyncapi.json").read_text())


def xtask(*args):
    binary = ROOT / "target/debug/xtask"
    cmd = [str(binary), *args] if binary.exists() else ["cargo", "xtask", *args]
    return json.loads(subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout)


@cache
def produced():
    return xtask("sample-events")


def validator(message):
    name = catalogue()["components"]["messages"][message]["payload"]["$ref"].rsplit("/", 1)[1]
    schema = {"$ref": f"#/components/schemas/{name}", "components": catalogue()["components"]}
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def messages():
    return catalogue()["components"]["messages"]


def test_every_produced_event_matches_its_message():
    for event in produced():
        kind = event["detail-type"]
        assert kind in messages(), f"{kind} is not in the catalogue"
        assert event["source"] == messages()[kind]["x-source"], kind
        assert event["detail"]["metadata"]["type"] == kind
        errors = [e.message for e in validator(kind).iter_errors(event["detail"])]
        assert errors == [], f"{kind}: {errors}"


def test_every_documented_message_is_produced_and_the_code_knows_the_same_types():
    assert {e["detail-type"] for e in produced()} == set(messages())
    assert set(xtask("manifest")["event_types"]) == set(messages())
    channel = catalogue()["channels"]["shopBus"]["messages"]
    assert set(channel) == set(messages())


def test_the_bus_rules_match_only_documented_types_and_sources():
    rules = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["metadata"]["shop"]["rules"]
    sources = {m["x-source"] for m in messages().values()}
    for name, rule in rules.items():
        assert set(rule["pattern"]["detail-type"]) <= set(messages()), name
        assert set(rule["pattern"]["source"]) <= sources, name


def test_the_send_email_sample_is_a_documented_event():
    ev = json.loads((ROOT / "events/send-email.json").read_text())
    assert list(validator(ev["detail-type"]).iter_errors(ev["detail"])) == []


@pytest.mark.parametrize(
    "break_it",
    [
        lambda d: d["data"].__setitem__("total_cents", 25.5),
        lambda d: d["data"].__setitem__("currency", "dollars"),
        lambda d: d["metadata"].__setitem__("id", "not-a-stable-id"),
        lambda d: d["data"]["items"][0].pop("quantity"),
        lambda d: d.__setitem__("extra", 1),
    ],
)
def test_the_schemas_refuse_what_a_consumer_could_trip_over(break_it):
    placed = next(e for e in produced() if e["detail-type"] == "OrderPlaced")
    broken = copy.deepcopy(placed["detail"])
    break_it(broken)
    assert list(validator("OrderPlaced").iter_errors(broken)), "the schema accepted a broken event"
