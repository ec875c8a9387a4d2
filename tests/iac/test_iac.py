"""Infrastructure checks, offline.

The single sources are Cargo.toml (`[workspace.metadata.lambda.watch.router]` for routes,
`[workspace.metadata.shop.functions]` for memory and access) and the Rust code (tables and
environment variable names, printed by `cargo xtask manifest`). template.yaml, terraform/, events/ and the
function binaries must describe exactly the same thing; each comparison below returns a list of
differences, and a test fails when one is not empty.
"""

import json
import os
import re
import shutil
import subprocess
import tomllib
from functools import cache
from pathlib import Path

import hcl2
import pytest
from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache"
TABLE_LOGICAL = {"users": "UsersTable", "products": "ProductsTable", "orders": "OrdersTable"}


# ----------------------------------------------------------------------------- sources


@cache
def cargo():
    return tomllib.loads((ROOT / "Cargo.toml").read_text())


def routes():
    """{function: (METHOD, path)} from the watch router; one route per function."""
    out = {}
    for path, entries in cargo()["workspace"]["metadata"]["lambda"]["watch"]["router"].items():
        for e in entries:
            assert e["function"] not in out, f"{e['function']} serves two routes"
            out[e["function"]] = (e["method"], path)
    return out


def access():
    return cargo()["workspace"]["metadata"]["shop"]["functions"]


def schedules():
    """{function: schedule expression} of the functions an EventBridge schedule runs (no route)."""
    return {f: spec["schedule"] for f, spec in access().items() if "schedule" in spec}


def outbox():
    return cargo()["workspace"]["metadata"]["shop"]["streams"]


def rules():
    """{rule: {target, pattern}} on the shop's bus."""
    return cargo()["workspace"]["metadata"]["shop"].get("rules", {})


def streamed():
    """{function: [table]} of the functions a table stream invokes."""
    return {f: spec["streams"] for f, spec in access().items() if "streams" in spec}


def rule_targets():
    out = {}
    for name, r in rules().items():
        out.setdefault(r["target"], []).append(name)
    return out


def uploaded():
    """{function: key prefix} of the functions the images bucket's created objects invoke."""
    return {f: spec["uploads"] for f, spec in access().items() if "uploads" in spec}


# What the functions may touch in the images bucket: the pictures and the admins' uploads.
IMAGE_PREFIXES = ["products/", "uploads/"]


def unrouted():
    return set(schedules()) | set(streamed()) | set(rule_targets()) | set(uploaded())


def triggers():
    """{function: "METHOD /path", "schedule <expr>", "stream <tables>" or "rule <names>"}: how
    each function of the manifest is run."""
    out = {f: f"{m} {p}" for f, (m, p) in routes().items()}
    out.update({f: f"schedule {e}" for f, e in schedules().items()})
    out.update({f: "stream " + ", ".join(t) for f, t in streamed().items()})
    out.update({f: "rule " + ", ".join(r) for f, r in rule_targets().items()})
    out.update({f: f"images bucket {p}" for f, p in uploaded().items()})
    return out


def hcl_json(s):
    """A JSON document written as an HCL string (python-hcl2 keeps its escapes)."""
    return json.loads(s.replace('\\"', '"'))


def stream_pattern(table):
    """The event source mapping filter of `table`'s records (as `cargo xtask gen` writes it)."""
    f = outbox()["filters"][table]
    return {"eventName": f["changes"], "dynamodb": {"Keys": {"pk": {"S": [{"prefix": p} for p in f["prefixes"]]}}}}


@cache
def manifest():
    xtask = ROOT / "target/debug/xtask"
    cmd = [str(xtask), "manifest"] if xtask.exists() else ["cargo", "xtask", "manifest"]
    return json.loads(subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout)


def load_template(path=ROOT / "template.yaml"):
    return cfn_yaml.load(str(path))


def unquote(o):
    if isinstance(o, dict):
        return {unquote(k): unquote(v) for k, v in o.items()}
    if isinstance(o, list):
        return [unquote(v) for v in o]
    if isinstance(o, str) and len(o) >= 2 and o[0] == '"' and o[-1] == '"':
        return o[1:-1]
    return o


def load_terraform(directory=ROOT / "terraform"):
    merged = {"locals": {}, "resource": {}}
    for f in sorted(directory.glob("*.tf")):
        with open(f) as fh:
            doc = unquote(hcl2.load(fh))
        for block in doc.get("locals", []):
            merged["locals"].update(block)
        for block in doc.get("resource", []):
            for rtype, named in block.items():
                merged["resource"].setdefault(rtype, {}).update(named)
    return merged


def expected_grants(spec):
    """{resource: sorted actions} for one function, from Cargo.toml."""
    grants = {f"dynamodb:{t}": sorted(f"dynamodb:{a}" for a in acts) for t, acts in spec.get("dynamodb", {}).items()}
    for prefix, acts in spec.get("s3", {}).items():
        grants[f"s3:images/{prefix}"] = sorted(f"s3:{a}" for a in acts)
    if spec.get("site"):
        grants["s3:site"] = sorted(f"s3:{a}" for a in spec["site"])
    for t in spec.get("streams", []):
        grants[f"stream:{t}"] = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
    if spec.get("streams"):
        grants["stream:*"] = ["dynamodb:ListStreams"]
    if spec.get("events"):
        grants["events:bus"] = sorted(f"events:{a}" for a in spec["events"])
    if spec.get("ses"):
        grants["ses:sender"] = sorted(f"ses:{a}" for a in spec["ses"])
    return grants


# ----------------------------------------------------------------------------- comparisons


def diff(what, expected, actual):
    return [] if expected == actual else [f"{what}: expected {expected!r}, found {actual!r}"]


def check_binaries():
    bins = {p.stem for p in (ROOT / "functions/src/bin").glob("*.rs")}
    return (
        diff("function binaries vs manifest", set(access()), bins)
        + diff("routed functions vs router", set(access()) - unrouted(), set(routes()))
        + diff("triggered functions that are also routed", set(), unrouted() & set(routes()))
    )


def check_events():
    problems = []
    for fn, (method, path) in routes().items():
        f = ROOT / "events" / f"{fn}.json"
        if not f.exists():
            problems.append(f"events/{fn}.json is missing")
            continue
        ev = json.loads(f.read_text())
        problems += diff(f"{f.name} routeKey", f"{method} {path}", ev.get("routeKey"))
        problems += diff(f"{f.name} method", method, ev["requestContext"]["http"]["method"])
        params = set(re.findall(r"{(\w+)}", path))
        problems += diff(f"{f.name} pathParameters", params, set(ev.get("pathParameters", {})))
        raw = path
        for k, v in ev.get("pathParameters", {}).items():
            raw = raw.replace("{" + k + "}", v)
        problems += diff(f"{f.name} rawPath", raw, ev.get("rawPath"))
    for fn in schedules():
        f = ROOT / "events" / f"{fn}.json"
        if not f.exists():
            problems.append(f"events/{fn}.json is missing")
            continue
        problems += diff(f"{f.name} detail-type", "Scheduled Event", json.loads(f.read_text()).get("detail-type"))
    for fn in streamed():
        ev = json.loads((ROOT / "events" / f"{fn}.json").read_text())
        sources = {r["eventSource"] for r in ev.get("Records", [])}
        problems += diff(f"{fn}.json record sources", {"aws:dynamodb"}, sources)
    for fn, prefix in uploaded().items():
        ev = json.loads((ROOT / "events" / f"{fn}.json").read_text())
        problems += diff(f"{fn}.json source", ("aws.s3", "Object Created"), (ev.get("source"), ev.get("detail-type")))
        if not ev["detail"]["object"]["key"].startswith(prefix):
            problems.append(f"{fn}.json is no upload under {prefix}")
    for fn, names in rule_targets().items():
        ev = json.loads((ROOT / "events" / f"{fn}.json").read_text())
        r = rules()[names[0]]["pattern"]
        if ev.get("detail-type") not in r["detail-type"] or ev.get("source") not in r["source"]:
            problems.append(f"{fn}.json is no event its rule {names[0]} matches")
    extra = {p.stem for p in (ROOT / "events").glob("*.json")} - set(access())
    return problems + diff("events without a function", set(), extra)


def template_functions(t):
    out = {}
    for name, r in t["Resources"].items():
        if r["Type"] == "AWS::Serverless::Function":
            out[r["Metadata"]["BuildProperties"]["Binary"]] = (name, r)
    return out


def resource_of(res):
    """Maps a policy Resource back to "dynamodb:<table>[:index]", "s3:images/<prefix>", ..."""
    if res == "*":
        return "stream:*"
    if isinstance(res, dict) and "Fn::GetAtt" in res:
        logical, attr = res["Fn::GetAtt"][0], res["Fn::GetAtt"][1]
        if logical == "EventBus":
            return "events:bus"
        table = {v: k for k, v in TABLE_LOGICAL.items()}[logical]
        return f"stream:{table}" if attr == "StreamArn" else f"dynamodb:{table}"
    sub = res["Fn::Sub"] if isinstance(res, dict) else res
    if sub == "${SiteBucket.Arn}/*":
        return "s3:site"
    m = re.fullmatch(r"\$\{ImagesBucket\.Arn\}/([a-z]+/)\*", sub)
    if m:
        assert m.group(1) in IMAGE_PREFIXES, f"a grant outside the functions' prefixes: {res!r}"
        return f"s3:images/{m.group(1)}"
    if sub.endswith(":identity/*"):
        return "ses:sender"
    m = re.fullmatch(r"\$\{(\w+)\.Arn\}/index/\*", sub)
    assert m, f"unexpected policy resource {res!r}"
    return "dynamodb:" + {v: k for k, v in TABLE_LOGICAL.items()}[m.group(1)] + ":index"


def routes_of(t, function):
    """The route keys of the HTTP API whose integration calls `function`'s live alias (and whose
    invoke permission names that alias)."""
    res = t["Resources"]
    alias = {"Ref": f"{function}.Alias"}
    integrations = {n for n, r in res.items() if r["Type"] == "AWS::ApiGatewayV2::Integration" and r["Properties"]["IntegrationUri"] == alias}
    permitted = any(r["Type"] == "AWS::Lambda::Permission" and r["Properties"]["FunctionName"] == alias for r in res.values())
    return [
        r["Properties"]["RouteKey"]
        for r in res.values()
        if permitted and r["Type"] == "AWS::ApiGatewayV2::Route" and r["Properties"]["Target"] in ({"Fn::Sub": f"integrations/${{{i}}}"} for i in integrations)
    ]


def check_template(t):
    problems = []
    fns = template_functions(t)
    problems += diff("template functions vs manifest", set(access()), set(fns))
    globals_fn = t["Globals"]["Function"]
    for fn, trigger in triggers().items():
        if fn not in fns:
            continue
        name, r = fns[fn]
        props = r["Properties"]
        events = props.get("Events", {}).values()
        scheduled = [f"schedule {e['Properties']['Schedule']}" for e in events if e["Type"] == "Schedule"]
        by_logical = {v: k for k, v in TABLE_LOGICAL.items()}
        streams = [e for e in events if e["Type"] == "DynamoDB"]
        if streams:
            tables = [by_logical[e["Properties"]["Stream"]["Fn::GetAtt"][0]] for e in streams]
            scheduled.append("stream " + ", ".join(tables))
            for table, e in zip(tables, streams):
                p = e["Properties"]
                problems += diff(f"{name} {table} filter", [stream_pattern(table)], [json.loads(f["Pattern"]) for f in p["FilterCriteria"]["Filters"]])
                problems += diff(f"{name} {table} batch", (outbox()["batch_size"], outbox()["retries"]), (p["BatchSize"], p["MaximumRetryAttempts"]))
                problems += diff(f"{name} {table} partial failures", ["ReportBatchItemFailures"], p.get("FunctionResponseTypes"))
        matched = [n for e in events if e["Type"] == "EventBridgeRule" for n, r in rules().items() if r["pattern"] == e["Properties"]["Pattern"]]
        if matched:
            scheduled.append("rule " + ", ".join(matched))
        for e in events:
            p = e["Properties"]
            if e["Type"] == "EventBridgeRule" and p["Pattern"].get("source") == ["aws.s3"]:
                # S3 reports to the default bus: no EventBusName; the bucket is the images bucket.
                problems += diff(f"{name} upload rule bus", None, p.get("EventBusName"))
                problems += diff(f"{name} upload rule bucket", [{"Ref": "ImagesBucket"}], p["Pattern"]["detail"]["bucket"]["name"])
                problems += diff(f"{name} upload rule type", ["Object Created"], p["Pattern"]["detail-type"])
                prefixes = [k["prefix"] for k in p["Pattern"]["detail"]["object"]["key"]]
                scheduled += [f"images bucket {x}" for x in prefixes]
                problems += diff(f"{name} async retries", 2, props.get("EventInvokeConfig", {}).get("MaximumRetryAttempts"))
        problems += diff(f"{name} routes", [trigger], routes_of(t, name) + scheduled)
        problems += diff(f"{name} memory", access()[fn]["memory"], props.get("MemorySize", globals_fn["MemorySize"]))
        problems += diff(f"{name} reserved concurrency", access()[fn].get("concurrency"), props.get("ReservedConcurrentExecutions"))
        grants = {}
        for policy in props.get("Policies", []):
            for st in policy["Statement"]:
                grants.setdefault(resource_of(st["Resource"]), []).extend(st["Action"])
        problems += diff(f"{name} permissions", expected_grants(access()[fn]), {k: sorted(v) for k, v in grants.items()})
    env = globals_fn["Environment"]["Variables"]
    problems += diff("template env vars unknown to the code", set(), set(env) - set(manifest()["env"]))
    for table in manifest()["tables"]:
        logical = TABLE_LOGICAL[table["id"]]
        problems += diff(f"{table['env']} refers to", {"Ref": logical}, env.get(table["env"]))
        props = t["Resources"][logical]["Properties"]
        problems += diff(f"{logical} key", [[table["pk"], "HASH"], [table["sk"], "RANGE"]], [[k["AttributeName"], k["KeyType"]] for k in props["KeySchema"]])
        gsis = [{"name": g["IndexName"], "pk": g["KeySchema"][0]["AttributeName"], "sk": g["KeySchema"][1]["AttributeName"]} for g in props.get("GlobalSecondaryIndexes", [])]
        problems += diff(f"{logical} indexes", table["gsis"], gsis)
        ttl = props.get("TimeToLiveSpecification", {})
        problems += diff(f"{logical} TTL", table["ttl"], ttl.get("AttributeName") if ttl.get("Enabled") else None)
        problems += diff(f"{logical} stream", table["stream"], props.get("StreamSpecification", {}).get("StreamViewType"))
    return problems


def check_terraform(tf, template_env):
    problems = []
    fns = tf["locals"]["functions"]
    problems += diff("terraform functions vs manifest", set(access()), set(fns))
    for fn, trigger in triggers().items():
        if fn not in fns:
            continue
        spec = fns[fn]
        if spec.get("route") not in (None, "null"):
            found = spec["route"]
        elif spec.get("schedule") not in (None, "null"):
            found = f"schedule {spec['schedule']}"
        elif spec.get("streams"):
            found = "stream " + ", ".join(spec["streams"])
        elif spec.get("uploads") not in (None, "null"):
            found = f"images bucket {spec['uploads']}"
        else:
            found = "rule " + ", ".join(n for n, r in tf["locals"]["rules"].items() if r["target"] == fn)
        problems += diff(f"terraform {fn} route", trigger, found)
        problems += diff(f"terraform {fn} memory", access()[fn]["memory"], spec["memory"])
        problems += diff(f"terraform {fn} reserved concurrency", access()[fn].get("concurrency"), None if spec["concurrency"] in (None, "null") else spec["concurrency"])
        grants = {f"dynamodb:{g['table']}": sorted(f"dynamodb:{a}" for a in g["actions"]) for g in spec["dynamodb"]}
        for g in spec["s3"]:
            grants[f"s3:images/{g['prefix']}"] = sorted(f"s3:{a}" for a in g["actions"])
        if spec["site"]:
            grants["s3:site"] = sorted(f"s3:{a}" for a in spec["site"])
        for t in spec["streams"]:
            grants[f"stream:{t}"] = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
        if spec["streams"]:
            grants["stream:*"] = ["dynamodb:ListStreams"]
        if spec["events"]:
            grants["events:bus"] = sorted(f"events:{a}" for a in spec["events"])
        if spec["ses"]:
            grants["ses:sender"] = sorted(f"ses:{a}" for a in spec["ses"])
        problems += diff(f"terraform {fn} permissions", expected_grants(access()[fn]), grants)
    ob = tf["locals"]["outbox"]
    problems += diff("terraform outbox settings", (outbox()["batch_size"], outbox()["retries"]), (ob["batch_size"], ob["retries"]))
    problems += diff("terraform stream filters", {t: stream_pattern(t) for t in outbox()["filters"]}, {t: hcl_json(p) for t, p in ob["filters"].items()})
    problems += diff(
        "terraform rules",
        {n: (r["target"], r["pattern"]) for n, r in rules().items()},
        {n: (r["target"], hcl_json(r["pattern"])) for n, r in tf["locals"]["rules"].items()},
    )
    env = tf["locals"]["env"]
    problems += diff("terraform env vs template env", set(template_env), set(env))
    tables = tf["resource"]["aws_dynamodb_table"]
    for table in manifest()["tables"]:
        r = tables.get(table["id"])
        if r is None:
            problems.append(f"terraform has no aws_dynamodb_table.{table['id']}")
            continue
        problems += diff(f"terraform {table['env']}", f"${{aws_dynamodb_table.{table['id']}.name}}", env.get(table["env"]))
        problems += diff(f"terraform {table['id']} key", (table["pk"], table["sk"]), (r["hash_key"], r["range_key"]))
        gsis = [{"name": g["name"], "pk": g["hash_key"], "sk": g["range_key"]} for g in r.get("global_secondary_index", [])]
        problems += diff(f"terraform {table['id']} indexes", table["gsis"], gsis)
        ttl = (r.get("ttl") or [{}])[0]
        problems += diff(f"terraform {table['id']} TTL", table["ttl"], ttl.get("attribute_name") if ttl.get("enabled") else None)
        problems += diff(f"terraform {table['id']} stream", table["stream"], r.get("stream_view_type") if r.get("stream_enabled") else None)
    return problems


# ----------------------------------------------------------------------------- tests


def test_every_route_has_a_binary_and_access_entry():
    assert check_binaries() == []


def test_every_function_has_a_matching_sample_event():
    assert check_events() == []


def test_stream_filters_name_the_stores_key_prefixes():
    """The outbox filters select exactly the entity items the publisher reads (shop's key prefixes)."""
    assert {t: f["prefixes"] for t, f in outbox()["filters"].items()} == manifest()["key_prefixes"]


def test_template_matches_router_access_and_tables():
    assert check_template(load_template()) == []


def test_terraform_matches_router_access_and_tables():
    t = load_template()
    assert check_terraform(load_terraform(), t["Globals"]["Function"]["Environment"]["Variables"]) == []


def check_openapi(doc):
    """The OpenAPI document describes exactly the routed operations, each with a JSON error format."""
    problems = []
    documented = {(m.upper(), path) for path, ops in doc["paths"].items() for m in ops if m in {"get", "put", "post", "delete", "patch"}}
    problems += diff("OpenAPI operations vs router", set(routes().values()), documented)
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if method == "parameters":
                continue
            for status, resp in op["responses"].items():
                ref = resp.get("$ref", "")
                if status.startswith(("4", "5")) and not ref.startswith("#/components/responses/") and status != "503":
                    problems.append(f"{method.upper()} {path} {status} does not use a shared error response")
    return problems


def load_openapi():
    import yaml

    return yaml.safe_load((ROOT / "static-site/openapi.yaml").read_text())


def test_openapi_matches_the_route_table():
    assert check_openapi(load_openapi()) == []


def test_a_removed_route_is_caught_everywhere(tmp_path):
    """The comparisons are not vacuous: dropping one route from each description is reported."""
    t = load_template()
    del t["Resources"]["GetOrderRoute"]
    assert any("GetOrderFunction routes" in p for p in check_template(t))

    t = load_template()
    del t["Resources"]["GetOrderPermission"]
    assert any("GetOrderFunction routes" in p for p in check_template(t))

    t = load_template()
    del t["Resources"]["GetOrderFunction"]
    assert any("template functions vs manifest" in p for p in check_template(t))

    tf = load_terraform()
    del tf["locals"]["functions"]["get-order"]
    assert any("terraform functions vs manifest" in p for p in check_terraform(tf, {}))

    t = load_template()
    del t["Resources"]["ExpireOrdersFunction"]["Properties"]["Events"]
    assert any("ExpireOrdersFunction routes" in p for p in check_template(t))

    doc = load_openapi()
    del doc["paths"]["/orders/{id}"]
    assert any("OpenAPI operations vs router" in p for p in check_openapi(doc))

    tf = load_terraform()
    tf["locals"]["functions"]["create-order"]["dynamodb"][0]["actions"].append("Scan")
    assert any("terraform create-order permissions" in p for p in check_terraform(tf, {}))


def tool(name):
    for candidate in (CACHE / "venv/bin" / name, CACHE / "venv-checkov/bin" / name):
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed (run `make test`, which installs it)")
    return found


def run(cmd, **kw):
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, **kw)
    assert p.returncode == 0, f"{' '.join(cmd)} failed:\n{p.stdout}\n{p.stderr}"
    return p.stdout


def render_csp(fill):
    """static-site/csp.json as a header value, with its {placeholders} filled from `fill`."""
    csp = json.loads((ROOT / "static-site/csp.json").read_text())
    fill = {"{" + k + "}": v for k, v in fill.items()}
    return "; ".join(" ".join([name, *dict.fromkeys(fill.get(v, v) for v in values)]) for name, values in csp["directives"].items())


def deployed_csp(region):
    deployed = json.loads((ROOT / "static-site/csp.json").read_text())["deployed"]
    return render_csp({k: v.replace("{region}", region) for k, v in deployed.items()})


def test_both_descriptions_send_the_storefront_csp():
    """The CloudFront response headers policy of each description carries exactly static-site/csp.json,
    on the site and the image behaviours; the policy keeps scripts to the site and Stripe.js."""
    t = load_template()
    headers = t["Resources"]["SiteHeaders"]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert headers["ContentSecurityPolicy"]["ContentSecurityPolicy"] == {"Fn::Sub": deployed_csp("${AWS::Region}")}
    assert headers["FrameOptions"]["FrameOption"] == "DENY"
    dist = t["Resources"]["Cdn"]["Properties"]["DistributionConfig"]
    for behaviour in [dist["DefaultCacheBehavior"], *dist["CacheBehaviors"]]:
        assert behaviour["ResponseHeadersPolicyId"] == {"Ref": "SiteHeaders"}
    tf = load_terraform()
    policy = tf["resource"]["aws_cloudfront_response_headers_policy"]["site"]["security_headers_config"][0]
    assert policy["content_security_policy"][0]["content_security_policy"] == deployed_csp("${var.region}")
    cdn = tf["resource"]["aws_cloudfront_distribution"]["cdn"]
    for behaviour in [*cdn["default_cache_behavior"], *cdn["ordered_cache_behavior"]]:
        assert behaviour["response_headers_policy_id"] == "${aws_cloudfront_response_headers_policy.site.id}"
    rendered = deployed_csp("us-east-1")
    assert "script-src 'self' https://js.stripe.com;" in rendered and "frame-ancestors 'none'" in rendered
    assert "unsafe-inline" not in rendered


def node():
    found = shutil.which("node")
    if not found:
        pytest.fail("node is not installed (run `make test`, which installs it)")
    return found


def cdn_api_behaviours():
    """(SAM, Terraform) behaviour for /api/*, each as (behaviour, cache policy, function code)."""
    t = load_template()
    res = t["Resources"]
    dist = res["Cdn"]["Properties"]["DistributionConfig"]
    (sam,) = [b for b in dist["CacheBehaviors"] if b["PathPattern"] == "api/*"]
    (origin,) = [o for o in dist["Origins"] if o["Id"] == sam["TargetOriginId"]]
    assert origin["DomainName"] == {"Fn::Sub": "${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    sam_policy = res[sam["CachePolicyId"]["Ref"]]["Properties"]["CachePolicyConfig"]
    (fn_assoc,) = sam["FunctionAssociations"]
    assert fn_assoc["EventType"] == "viewer-request"
    sam_code = res[fn_assoc["FunctionARN"]["Fn::GetAtt"][0]]["Properties"]["FunctionCode"]

    tf = load_terraform()
    cdn = tf["resource"]["aws_cloudfront_distribution"]["cdn"]
    (tfb,) = [b for b in cdn["ordered_cache_behavior"] if b["path_pattern"] == "api/*"]
    (tfo,) = [o for o in cdn["origin"] if o["origin_id"] == tfb["target_origin_id"]]
    assert "aws_apigatewayv2_api.http.api_endpoint" in tfo["domain_name"]
    assert tfo["custom_origin_config"][0]["origin_protocol_policy"] == "https-only"
    policy_name = re.fullmatch(r"\$\{aws_cloudfront_cache_policy\.(\w+)\.id\}", tfb["cache_policy_id"]).group(1)
    tf_policy = tf["resource"]["aws_cloudfront_cache_policy"][policy_name]
    (tf_assoc,) = tfb["function_association"]
    assert tf_assoc["event_type"] == "viewer-request"
    fn_name = re.fullmatch(r"\$\{aws_cloudfront_function\.(\w+)\.arn\}", tf_assoc["function_arn"]).group(1)
    # python-hcl2 keeps a heredoc's markers; HCL does not interpret backslashes inside one.
    tf_code = re.fullmatch(r"<<-EOT\n(.*)\n\s*EOT\s*", tf["resource"]["aws_cloudfront_function"][fn_name]["code"], re.S).group(1)
    return (sam, sam_policy, sam_code), (tfb, tf_policy, tf_code)


def test_the_api_is_served_under_api_of_the_storefront_origin():
    """Both descriptions route /api/* to the HTTP API with every method, and the viewer-request
    function (run here in node) strips exactly the /api prefix."""
    for behaviour, _, code in cdn_api_behaviours():
        methods = behaviour.get("AllowedMethods") or behaviour.get("allowed_methods")
        assert set(methods) == {"GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"}
        cases = {"/api/products": "/products", "/api/orders/01J/status": "/orders/01J/status", "/api": "/", "/apiary": "/apiary"}
        script = code + f"\nconst cases = {json.dumps(cases)};\n" + (
            "for (const [uri, want] of Object.entries(cases)) {"
            " const got = handler({ request: { uri } }).uri;"
            " if (got !== want) { console.error(uri, '->', got, 'expected', want); process.exit(1); } }"
        )
        p = subprocess.run([node(), "-e", script], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr


def test_the_api_cache_keys_on_the_query_string_and_authorization():
    """The cache key holds the query string and Authorization (a request with a token never
    shares an entry with one without), and nothing is stored that the function did not mark
    cacheable (default TTL 0)."""
    (_, sam, _), (_, tf, _) = cdn_api_behaviours()
    params = sam["ParametersInCacheKeyAndForwardedToOrigin"]
    assert params["QueryStringsConfig"]["QueryStringBehavior"] == "all"
    assert params["HeadersConfig"] == {"HeaderBehavior": "whitelist", "Headers": ["Authorization"]}
    assert sam["DefaultTTL"] == 0 and sam["MinTTL"] == 0
    tfp = tf["parameters_in_cache_key_and_forwarded_to_origin"][0]
    assert tfp["query_strings_config"][0]["query_string_behavior"] == "all"
    headers = tfp["headers_config"][0]
    assert headers["header_behavior"] == "whitelist" and headers["headers"][0]["items"] == ["Authorization"]
    assert tf["default_ttl"] == 0 and tf["min_ttl"] == 0


def sign_in_paths():
    """The viewer paths of the routes Cargo.toml's manifest marks `edge = "sign-in"`."""
    return sorted("/api" + routes()[f][1] for f, spec in access().items() if spec.get("edge") == "sign-in")


def test_both_descriptions_put_a_waf_in_front_of_the_distribution():
    """A CloudFront-scoped web ACL: a tight per-address rate on the sign-in routes of the manifest,
    a general per-address ceiling, AWS's common and known-bad-inputs rule sets, logs to an
    aws-waf-logs-* group with the Authorization header redacted; in us-east-1 in both."""
    assert sign_in_paths() == ["/api/users/login", "/api/users/login/mfa", "/api/users/password-reset", "/api/users/password-reset/confirm", "/api/users/register", "/api/users/verify-email"]
    t = load_template()
    res = t["Resources"]
    acl = res["WebAcl"]
    assert acl["Condition"] == "InUsEast1" and acl["Properties"]["Scope"] == "CLOUDFRONT"
    assert t["Conditions"]["InUsEast1"] == {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}
    assert res["Cdn"]["Properties"]["DistributionConfig"]["WebACLId"] == {"Fn::If": ["InUsEast1", {"Fn::GetAtt": ["WebAcl", "Arn"]}, {"Ref": "WebAclArn"}]}
    rules = {r["Name"]: r for r in acl["Properties"]["Rules"]}
    tight = rules["sign-in-rate"]["Statement"]["RateBasedStatement"]
    general = rules["general-rate"]["Statement"]["RateBasedStatement"]
    assert tight["AggregateKeyType"] == general["AggregateKeyType"] == "IP"
    assert tight["Limit"] < general["Limit"] and "ScopeDownStatement" not in general
    matched = sorted(s["ByteMatchStatement"]["SearchString"] for s in tight["ScopeDownStatement"]["OrStatement"]["Statements"])
    assert matched == sign_in_paths()
    managed = {r["Statement"]["ManagedRuleGroupStatement"]["Name"] for r in rules.values() if "ManagedRuleGroupStatement" in r["Statement"]}
    assert managed == {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"}
    logging = res["WafLogging"]["Properties"]
    assert res["WafLogs"]["Properties"]["LogGroupName"] == {"Fn::Sub": "aws-waf-logs-${AWS::StackName}"}
    assert logging["RedactedFields"] == [{"SingleHeader": {"Name": "authorization"}}]

    tf = load_terraform()
    edge = tf["resource"]["aws_wafv2_web_acl"]["edge"]
    assert edge["provider"] == "${aws.us_east_1}" and edge["scope"] == "CLOUDFRONT"
    assert tf["resource"]["aws_cloudfront_distribution"]["cdn"]["web_acl_id"] == "${aws_wafv2_web_acl.edge.arn}"
    tf_rules = {r["name"]: r for r in edge["rule"]}
    tf_tight = tf_rules["sign-in-rate"]["statement"][0]["rate_based_statement"][0]
    tf_general = tf_rules["general-rate"]["statement"][0]["rate_based_statement"][0]
    assert (tf_tight["limit"], tf_general["limit"]) == (tight["Limit"], general["Limit"])
    assert tf_tight["aggregate_key_type"] == tf_general["aggregate_key_type"] == "IP"
    assert sorted(tf["locals"]["sign_in_paths"]) == sign_in_paths()
    tf_managed = {r["statement"][0]["managed_rule_group_statement"][0]["name"] for r in tf_rules.values() if "managed_rule_group_statement" in r["statement"][0]}
    assert tf_managed == managed
    logs = tf["resource"]["aws_cloudwatch_log_group"]["waf"]
    assert logs["name"].startswith("aws-waf-logs-") and logs["provider"] == "${aws.us_east_1}"
    tf_logging = tf["resource"]["aws_wafv2_web_acl_logging_configuration"]["edge"]
    assert tf_logging["redacted_fields"][0]["single_header"][0]["name"] == "authorization"


def test_generated_files_match_the_manifest():
    """template.yaml's function blocks, terraform/functions.tf and the binaries are what
    `cargo xtask gen` writes from Cargo.toml."""
    xtask = ROOT / "target/debug/xtask"
    cmd = [str(xtask)] if xtask.exists() else ["cargo", "xtask"]
    run([*cmd, "gen", "--check"])


def test_the_generator_check_catches_a_hand_edit(tmp_path):
    """`gen --check` is not vacuous: a hand-edited memory size in a copy of the repo is reported."""
    for p in ["Cargo.toml", "template.yaml", "terraform/functions.tf"]:
        (tmp_path / p).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / p, tmp_path / p)
    shutil.copytree(ROOT / "functions/src/bin", tmp_path / "functions/src/bin")
    shutil.copytree(ROOT / "events", tmp_path / "events")
    edited = (tmp_path / "template.yaml").read_text().replace("MemorySize: 512", "MemorySize: 640", 1)
    (tmp_path / "template.yaml").write_text(edited)
    xtask = ROOT / "target/debug/xtask"
    cmd = [str(xtask)] if xtask.exists() else ["cargo", "xtask"]
    p = subprocess.run([*cmd, "gen", "--check"], cwd=ROOT, capture_output=True, text=True, env={**os.environ, "SHOP_ROOT": str(tmp_path)})
    assert p.returncode == 1 and "template.yaml" in p.stderr, (p.returncode, p.stderr)


def test_sam_validate_lint():
    # `sam validate --lint` is cfn-lint: the same package's API, its default rules, in us-east-1 (the
    # CLI's default region), so this one run is the cfn-lint check too, without a second start-up.
    out = run([tool("sam"), "validate", "--lint", "--region", "us-east-1", "--template-file", "template.yaml"])
    assert "is a valid SAM Template" in out


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not installed on this machine")
def test_terraform_fmt():
    run(["terraform", "fmt", "-check", "-recursive", "terraform"])


@pytest.mark.parametrize("target", [["-f", "template.yaml", "--framework", "cloudformation"], ["-d", "terraform", "--framework", "terraform"]])
def test_checkov_has_no_failed_checks(target):
    out = run([tool("checkov"), *target, "--compact", "--quiet", "--output", "json"])
    report = json.loads(out)
    summary = report["summary"] if isinstance(report, dict) else report[0]["summary"]
    assert summary["failed"] == 0 and summary["parsing_errors"] == 0, summary
    assert summary["passed"] > 50, summary


def test_the_cdn_maps_the_storefront_paths_with_the_one_function_the_local_front_runs():
    code = (ROOT / "scripts/cdn/site-paths.js").read_text()
    t = load_template()
    res = t["Resources"]
    assert res["SitePaths"]["Properties"]["FunctionCode"] == code
    default = res["Cdn"]["Properties"]["DistributionConfig"]["DefaultCacheBehavior"]
    assert default["FunctionAssociations"][0]["FunctionARN"] == {"Fn::GetAtt": ["SitePaths", "FunctionMetadata.FunctionARN"]}
    patterns = {b["PathPattern"]: b["TargetOriginId"] for b in res["Cdn"]["Properties"]["DistributionConfig"]["CacheBehaviors"]}
    # Pictures only: a product's page (/products/<slug>) stays on the site.
    assert patterns["products/*/*"] == "images" and "products/*" not in patterns
    tf_text = (ROOT / "terraform/storage.tf").read_text()
    start = tf_text.index('resource "aws_cloudfront_function" "site_paths"')
    body = tf_text[start:].split("<<-EOT\n", 1)[1].split("  EOT\n", 1)[0]
    assert "\n".join(line[4:] for line in body.rstrip("\n").split("\n")) + "\n" == code
    assert 'path_pattern               = "products/*/*"' in tf_text
    assert 'function_arn = aws_cloudfront_function.site_paths.arn' in tf_text
