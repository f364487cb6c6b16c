#!/usr/bin/env python3
"""A client of `hearth serve` written the way an application would, with only Python's
standard library (urllib), outside Hearth's code. Usage:

  urllib_client.py check BASE_URL MODEL TOKEN   the endpoints answer as documented (exit 0)
  urllib_client.py load BASE_URL MODEL TOKEN STOP_FILE
                                                 KServe v2 infer in a loop until STOP_FILE exists;
                                                 prints `requests=N failures=F versions=a,b`
"""
import json
import os
import sys
import urllib.error
import urllib.request


def call(base, path, body=None, token=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(base + path, data=data, method="POST" if data is not None else "GET")
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def expect(cond, what):
    if not cond:
        print("FAILED:", what)
        sys.exit(1)
    print("ok:", what)


def check(base, model, token):
    status, body = call(base, "/v2/health/ready")
    expect(status == 200 and body == {"ready": True}, "ready without a token")
    status, body = call(base, "/v2/models/" + model, token=token)
    expect(status == 200 and body["name"] == model, "model metadata")
    row = {"name": "input", "shape": [1, 2], "datatype": "FP32", "data": [1.19, 0.56]}
    status, body = call(base, "/v2/models/%s/infer" % model, {"inputs": [row]}, token)
    names = [o["name"] for o in body.get("outputs", [])] if status == 200 else []
    expect(status == 200 and "label" in names and "probabilities" in names, "v2 infer: " + str(body))
    status, body = call(base, "/v1/models/%s:predict" % model,
                        {"instances": [{"x2": 0.56, "x1": 1.19}]}, token)
    expect(status == 200 and body["predictions"][0]["label"] in ("yes", "no"), "v1 named row")
    status, body = call(base, "/v1/models/%s:predict" % model, {"instances": [[1.19, 0.56]]})
    expect(status == 401 and "token" in body["error"], "401 without the token")
    status, body = call(base, "/v1/models/%s:predict" % model, token=token, raw=b"{\"instances\": [")
    expect(status == 400 and "not JSON" in body["error"], "400 on malformed JSON")
    status, body = call(base, "/v1/models/%s:predict" % model,
                        {"instances": [{"x1": 1.19, "x2": "high"}]}, token)
    expect(status == 400 and "row 0, field `x2`" in body["error"], "400 names the row and field")
    big = {"instances": [[1.0, 2.0]] * 100000}
    status, body = call(base, "/v1/models/%s:predict" % model, big, token)
    expect(status == 413 and "--max-body-kb" in body["error"], "413 past the body limit")


def load(base, model, token, stop_file):
    row = {"inputs": [{"name": "input", "shape": [1, 2], "datatype": "FP32", "data": [1.0, 2.0]}]}
    requests = failures = 0
    versions = []
    while not os.path.exists(stop_file):
        status, body = call(base, "/v2/models/%s/infer" % model, row, token)
        requests += 1
        if status != 200:
            failures += 1
            print("failure:", status, body, file=sys.stderr)
        elif not versions or versions[-1] != body["model_version"]:
            versions.append(body["model_version"])
    print("requests=%d failures=%d versions=%s" % (requests, failures, ",".join(versions)))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "check":
        check(*args)
    elif mode == "load":
        load(*args)
    else:
        sys.exit("unknown mode " + mode)
