#!/usr/bin/env python3
"""Upload a file into the MemoryLake Library, as the Library overview's
Python example does (there with `requests`; here with the standard library
only): create an upload session, PUT each chunk to its pre-signed URL
without an Authorization header while collecting the ETags, then create the
file item under MY_SPACE.

Usage: upload.py BASE_URL API_KEY FILE [NAME]

BASE_URL is the MemoryLake base, e.g. https://app.memorylake.ai/openapi/memorylake.
Prints the Create Item response's data ({"item_id": ..., "name": ...}) as JSON.
"""

import json
import os
import sys
import urllib.request

# Never route through an environment proxy: the URLs are the server's own.
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def call(method, url, api_key=None, body=None, data=None):
    headers = {}
    if api_key is not None:
        headers["Authorization"] = "Bearer " + api_key
    if body is not None:
        data = json.dumps(body).encode("utf-8")
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    with opener.open(req) as resp:
        return resp.headers, resp.read()


def upload(base_url, api_key, path, name):
    api = base_url.rstrip("/") + "/api/v1"
    file_size = os.path.getsize(path)

    # 1. Create the upload session.
    _, raw = call("POST", api + "/drives/items/upload", api_key, {"file_size": file_size})
    session = json.loads(raw)
    if not session.get("success"):
        raise SystemExit("create upload failed: %r" % session)
    upload_id = session["data"]["upload_id"]
    part_items = session["data"]["part_items"]

    # 2. PUT every chunk, reading the file in part sizes, and keep each ETag.
    part_etags = []
    with open(path, "rb") as f:
        for part in part_items:
            chunk = f.read(part["size"])
            headers, _ = call("PUT", part["upload_url"], data=chunk)  # no Authorization
            part_etags.append({"number": part["number"], "etag": headers["ETag"]})

    # 3. Create the file item under MY_SPACE.
    _, raw = call("POST", api + "/drives/items", api_key, {
        "item_type": "file",
        "parent_item_id": "MY_SPACE",
        "name": name,
        "from": {"upload_id": upload_id, "part_etags": part_etags},
    })
    created = json.loads(raw)
    if not created.get("success"):
        raise SystemExit("create item failed: %r" % created)
    return created["data"]


def main(argv):
    if len(argv) not in (4, 5):
        raise SystemExit(__doc__)
    base_url, api_key, path = argv[1], argv[2], argv[3]
    name = argv[4] if len(argv) == 5 else os.path.basename(path)
    print(json.dumps(upload(base_url, api_key, path, name)))


if __name__ == "__main__":
    main(sys.argv)
