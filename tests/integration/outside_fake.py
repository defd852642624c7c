#!/usr/bin/env python3
"""The outside systems of tests/integration/test_service_auction.c over HTTP, as the service and
auction workers' HTTP adapter (worker.adapter: http) reaches them: the court's delivery platform
(POST /serve) and its valuation and auction platforms (POST /price, POST /auction).  Its answers
follow a fixed script by case number, so that the test knows what each party and each round
gets, and one case gets answers without an outcome:

  /serve    执701号: the respondent cannot be reached (unreachable); 执703号: every item is
            answered without an outcome; everyone else is served directly (直接送达).
  /price    every asset is priced at 1,000,000 yuan.
  /auction  执801号 sells in round 2 at its reserve + 40,000; every other round finds no bid.

Usage: outside_fake.py PORT_FILE LOG_FILE.  It listens on a free 127.0.0.1 port, writes the port
to PORT_FILE, and appends one JSON line per request to LOG_FILE: the path, the route, and the
(case, item, round) of each entry — never names or addresses.
"""
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def serve(req):
    results = []
    for c in req.get("cases", []):
        case, item = c.get("case", ""), c.get("item", "")
        if "执703号" in case:
            results.append({"case": case, "item": item})
        elif "执701号" in case and item.startswith("respondent"):
            results.append({"case": case, "item": item, "outcome": "unreachable",
                            "method": "直接送达", "reason": "受送达人下落不明"})
        else:
            results.append({"case": case, "item": item, "outcome": "served",
                            "method": "直接送达"})
    return {"results": results}


def price(req):
    return {"case": req.get("case"), "found": True,
            "items": [{"value": 1000000, "platform": "人民法院询价评估系统"}]}


def auction(req):
    if "执801号" in req.get("case", "") and req.get("round") == 2:
        return {"case": req["case"], "found": True,
                "items": [{"price": req["reserve"] + 40000, "bidders": 2}]}
    return {"case": req.get("case"), "found": False, "items": []}


ROUTES = {"/serve": serve, "/price": price, "/auction": auction}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        fn = ROUTES.get(self.path)
        if not fn:
            self.send_error(404)
            return
        req = json.loads(body)
        entries = [{"case": c.get("case"), "item": c.get("item")} for c in req.get("cases", [])]
        with open(sys.argv[2], "a", encoding="utf-8") as log:
            log.write(json.dumps({"path": self.path, "route": req.get("route"),
                                  "case": req.get("case"), "round": req.get("round"),
                                  "entries": entries}, ensure_ascii=False) + "\n")
        out = json.dumps(fn(req), ensure_ascii=False).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
