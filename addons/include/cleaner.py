# The lake's cleaning function (serverless phase): a stdlib-only HTTP server on $PORT (Knative's
# runtime contract). MinIO POSTs a bucket notification for every object created in the raw
# bucket (Authorization: Bearer <token>); the function reads the object with the cleaner key,
# cleans it and writes the result under the same key in the clean bucket. POST /sweep does the
# same for every raw object not yet cleaned (Garage has no notifications: a schedule calls it).
#
# Cleaning, by the object's extension:
#   .csv            the first non-blank row is the header; its names are normalised (trimmed,
#                   lowercase, runs of other characters than a-z and 0-9 become "_", empty ones
#                   "column_<n>", repeated ones "_2", "_3"...); every cell is trimmed; rows with
#                   another number of fields than the header are malformed and dropped; a row
#                   equal to an earlier one is a duplicate and dropped; blank rows are skipped.
#                   Written back with "," and "\n", quoting only where needed.
#   .jsonl .ndjson  one JSON object per line; keys normalised as CSV names, top-level string
#                   values trimmed; a line that is not a JSON object is malformed; a record equal
#                   to an earlier one (same keys and values) is a duplicate; blank lines skipped.
#                   Written back one object per line, keys sorted, no spaces.
#   anything else   (another extension, not UTF-8, no header, unreadable CSV) is copied to
#                   <quarantine prefix><key> in the clean bucket with the reason beside it in
#                   <quarantine prefix><key>.reason; an object over MAX_BYTES is not copied, only
#                   its reason written.
# Counts (rows in, rows out, malformed, duplicates) travel as the cleaned object's metadata
# (x-amz-meta-rows-in, ...) and in the JSON answer.
import csv
import datetime
import hashlib
import hmac
import io
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ENDPOINT = os.environ.get("S3_ENDPOINT", "").rstrip("/")
REGION = os.environ.get("S3_REGION", "us-east-1")
RAW = os.environ.get("RAW_BUCKET", "raw")
CLEAN = os.environ.get("CLEAN_BUCKET", "clean")
QUARANTINE = os.environ.get("QUARANTINE_PREFIX", "quarantine/")
MAX_BYTES = int(os.environ.get("MAX_BYTES", str(64 << 20)))


class Quarantined(Exception):
    """The object cannot be cleaned; the message is the reason."""


# --- cleaning -------------------------------------------------------------------------------

def normalise(names):
    out = []
    for i, name in enumerate(names):
        base = re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_") or "column_%d" % (i + 1)
        candidate, n = base, 1
        while candidate in out:
            n += 1
            candidate = "%s_%d" % (base, n)
        out.append(candidate)
    return out


def clean_csv(text):
    try:
        rows = [r for r in csv.reader(io.StringIO(text, newline="")) if any(c.strip() for c in r)]
    except csv.Error as e:
        raise Quarantined("unreadable CSV: %s" % e)
    if not rows:
        raise Quarantined("no header row")
    header = normalise(rows[0])
    kept, seen = [], set()
    counts = {"rows-in": len(rows) - 1, "malformed": 0, "duplicates": 0}
    for row in rows[1:]:
        cells = tuple(c.strip() for c in row)
        if len(cells) != len(header):
            counts["malformed"] += 1
        elif cells in seen:
            counts["duplicates"] += 1
        else:
            seen.add(cells)
            kept.append(cells)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(kept)
    counts["rows-out"] = len(kept)
    return out.getvalue().encode("utf-8"), counts


def clean_json_lines(text):
    lines = [line for line in text.splitlines() if line.strip()]
    kept, seen = [], set()
    counts = {"rows-in": len(lines), "malformed": 0, "duplicates": 0}
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            counts["malformed"] += 1
            continue
        keys = normalise(list(record))
        cleaned = {k: (v.strip() if isinstance(v, str) else v) for k, v in zip(keys, record.values())}
        canonical = json.dumps(cleaned, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        if canonical in seen:
            counts["duplicates"] += 1
            continue
        seen.add(canonical)
        kept.append(canonical)
    counts["rows-out"] = len(kept)
    return "".join(k + "\n" for k in kept).encode("utf-8"), counts


def clean(key, data):
    """(cleaned bytes, counts) for an object, or Quarantined."""
    lower = key.lower()
    if lower.endswith(".csv"):
        cleaner = clean_csv
    elif lower.endswith(".jsonl") or lower.endswith(".ndjson"):
        cleaner = clean_json_lines
    else:
        raise Quarantined("not CSV or JSON lines (.csv, .jsonl, .ndjson)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise Quarantined("not UTF-8 text: %s" % e)
    return cleaner(text)


# --- S3 (path-style, AWS Signature Version 4) ------------------------------------------------

def quote(s, safe="/"):
    return urllib.parse.quote(s, safe=safe + "-_.~")


def s3(method, bucket, key="", query=None, body=b"", meta=None):
    """One signed request; (status, headers, body). 404 is returned, other errors raise. The
    headers are looked up without regard to case (Garage sends them in lowercase)."""
    access, secret = os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]
    now = datetime.datetime.now(datetime.timezone.utc)
    stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    path = "/" + bucket + ("/" + quote(key) if key else "")
    canonical_query = "&".join("%s=%s" % (quote(k, ""), quote(v, "")) for k, v in sorted((query or {}).items()))
    host = urllib.parse.urlsplit(ENDPOINT).netloc
    headers = {"host": host, "x-amz-content-sha256": hashlib.sha256(body).hexdigest(), "x-amz-date": stamp}
    for name, value in (meta or {}).items():
        headers["x-amz-meta-" + name] = str(value)
    signed = ";".join(sorted(headers))
    canonical = "\n".join([method, path, canonical_query, "".join("%s:%s\n" % (h, headers[h]) for h in sorted(headers)),
                           signed, headers["x-amz-content-sha256"]])
    scope = "%s/%s/s3/aws4_request" % (day, REGION)
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in (day, REGION, "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (access, scope, signed, signature)
    del headers["host"]
    url = ENDPOINT + path + ("?" + canonical_query if canonical_query else "")
    request = urllib.request.Request(url, data=body if method == "PUT" else None, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as e:
        detail = e.read()
        if e.code == 404:
            return 404, e.headers, detail
        raise RuntimeError("%s %s/%s: HTTP %d %s" % (method, bucket, key, e.code, detail[:300].decode("utf-8", "replace")))


def list_keys(bucket):
    keys, token = [], None
    while True:
        query = {"list-type": "2"}
        if token:
            query["continuation-token"] = token
        _, _, body = s3("GET", bucket, query=query)
        root = ET.fromstring(body)
        ns = root.tag.split("}")[0] + "}" if root.tag.startswith("{") else ""
        keys += [c.findtext(ns + "Key") for c in root.findall(ns + "Contents")]
        token = root.findtext(ns + "NextContinuationToken")
        if root.findtext(ns + "IsTruncated") != "true" or not token:
            return keys


# --- one object -----------------------------------------------------------------------------

def process(key, size=None):
    """Clean raw/<key> into clean/<key>, or quarantine it; what happened."""
    if size is None:
        status, headers, _ = s3("HEAD", RAW, key)
        if status == 404:
            return {"key": key, "skipped": "no longer in %s" % RAW}
        size = int(headers.get("Content-Length", "0"))
    if size > MAX_BYTES:
        return quarantine(key, None, "larger than MAX_BYTES (%d > %d bytes); not copied" % (size, MAX_BYTES))
    status, _, data = s3("GET", RAW, key)
    if status == 404:
        return {"key": key, "skipped": "no longer in %s" % RAW}
    try:
        cleaned, counts = clean(key, data)
    except Quarantined as e:
        return quarantine(key, data, str(e))
    s3("PUT", CLEAN, key, body=cleaned, meta=counts)
    return dict(key=key, **counts)


def quarantine(key, data, reason):
    if data is not None:
        s3("PUT", CLEAN, QUARANTINE + key, body=data)
    s3("PUT", CLEAN, QUARANTINE + key + ".reason", body=(reason + "\n").encode("utf-8"))
    return {"key": key, "quarantined": reason}


def sweep():
    done = set(list_keys(CLEAN))
    todo = [k for k in list_keys(RAW) if k not in done and QUARANTINE + k + ".reason" not in done]
    return [process(k) for k in todo]


def from_event(event):
    """The raw objects a MinIO bucket notification names (its S3-style records)."""
    found = []
    for record in event.get("Records") or []:
        s3_part = record.get("s3") or {}
        if not str(record.get("eventName", "")).startswith("s3:ObjectCreated:"):
            continue
        if (s3_part.get("bucket") or {}).get("name") != RAW:
            continue
        obj = s3_part.get("object") or {}
        found.append((urllib.parse.unquote_plus(obj.get("key", "")), obj.get("size")))
    return found


# --- HTTP -----------------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    def answer(self, status, payload):
        body = (json.dumps(payload, sort_keys=True) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.answer(200, {"ok": True}) if self.path in ("/", "/healthz") else self.answer(404, {"error": "not found"})

    def do_POST(self):
        token = os.environ.get("CLEANER_TOKEN", "")
        given = self.headers.get("Authorization", "")
        length = int(self.headers.get("Content-Length", "0") or "0")
        body = self.rfile.read(length) if length else b""
        if not token or not hmac.compare_digest(given.encode(), ("Bearer " + token).encode()):
            return self.answer(401, {"error": "missing or wrong bearer token"})
        try:
            if self.path == "/sweep":
                results = sweep()
            elif self.path == "/":
                results = [process(k, s) for k, s in from_event(json.loads(body or b"{}"))]
            else:
                return self.answer(404, {"error": "not found"})
        except ValueError as e:
            return self.answer(400, {"error": "not a bucket notification: %s" % e})
        except Exception as e:  # reported to the caller (MinIO logs it) and in our log
            print("error: %s" % e, file=sys.stderr, flush=True)
            return self.answer(502, {"error": str(e)})
        for r in results:
            print(json.dumps(r, sort_keys=True), flush=True)
        self.answer(200, {"results": results})

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("", int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
