#!/usr/bin/env python3
"""Writes an API Gateway HTTP API (payload v2.0) sample event: make_event.py FUNCTION METHOD PATH [BODY] [--auth] [--path-param k=v] [--query q=v]

Used to author events/*.json; tests/ checks every event against the route table.
"""
import argparse, json, uuid

p = argparse.ArgumentParser()
p.add_argument("function"); p.add_argument("method"); p.add_argument("route")
p.add_argument("body", nargs="?")
p.add_argument("--auth", action="store_true")
p.add_argument("--path-param", action="append", default=[])
p.add_argument("--query", action="append", default=[])
p.add_argument("--header", action="append", default=[])
a = p.parse_args()

params = dict(kv.split("=", 1) for kv in a.path_param)
raw_path = a.route
for k, v in params.items():
    raw_path = raw_path.replace("{" + k + "}", v)
query = dict(kv.split("=", 1) for kv in a.query)
headers = {"content-type": "application/json", "host": "api.example.com", "user-agent": "curl/8.5.0"}
if a.auth:
    headers["authorization"] = "Bearer REPLACE_WITH_TOKEN_FROM_POST_/users/login"
for kv in a.header:
    k, v = kv.split("=", 1); headers[k] = v
route_key = f"{a.method} {a.route}"
event = {
    "version": "2.0",
    "routeKey": route_key,
    "rawPath": raw_path,
    "rawQueryString": "&".join(f"{k}={v}" for k, v in query.items()),
    "headers": headers,
    "requestContext": {
        "accountId": "123456789012",
        "apiId": "shopapi",
        "domainName": "api.example.com",
        "domainPrefix": "api",
        "http": {"method": a.method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.10", "userAgent": "curl/8.5.0"},
        "requestId": str(uuid.uuid5(uuid.NAMESPACE_URL, route_key)),
        "routeKey": route_key,
        "stage": "$default",
        "time": "22/Nov/2026:10:00:00 +0000",
        "timeEpoch": 1795341600000,
    },
    "isBase64Encoded": False,
}
if query:
    event["queryStringParameters"] = query
if params:
    event["pathParameters"] = params
if a.body is not None:
    event["body"] = a.body
with open(f"events/{a.function}.json", "w") as f:
    json.dump(event, f, indent=2); f.write("\n")
