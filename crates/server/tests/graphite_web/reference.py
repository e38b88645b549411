"""graphite-web 1.1.10 answering render requests over whisper files, for
eardrum's differential tests (crates/server/tests/graphite_web.rs).

Reads one JSON object from standard input:

    {"series": [{"name": "a.b", "archives": [[60, 10080], ...], "xFilesFactor": 0.5,
                 "aggregationMethod": "average", "points": [[timestamp, value], ...]}, ...],
     "requests": [[["target", "sumSeries(a.*)"], ["from", "..."], ...], ...]}

writes each series as a whisper file (a tagged one where carbon puts it,
entered into the tag database) with those archives (`[step, points]`,
as the storage schema gives them) and roll-up, each point written as carbon
writes it when it arrives (so that it reaches the finest archive and rolls
up into the others), and prints one JSON array: for each
request, `{"status": N, "body": "..."}` from graphite-web's `/render` (or
the path a `["__path", "/metrics/expand"]` pair names), run in-process
through Django's test client.
"""

import json
import os
import sys
import tempfile


def main():
    spec = json.load(sys.stdin)
    storage = tempfile.mkdtemp(prefix="graphite-web-")
    os.environ["GRAPHITE_STORAGE_DIR"] = storage
    os.environ["GRAPHITE_SETTINGS_MODULE"] = "settings"
    os.environ["DJANGO_SETTINGS_MODULE"] = "graphite.settings"
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    os.makedirs(os.path.join(storage, "log", "webapp"))

    import whisper
    from graphite.tags.utils import TaggedSeries

    for series in spec["series"]:
        # A tagged series lives where carbon puts it: under _tagged, by hash.
        relative = TaggedSeries.encode(series["name"], os.sep)
        path = os.path.join(storage, "whisper", relative) + ".wsp"
        os.makedirs(os.path.dirname(path), exist_ok=True)
        archives = [tuple(archive) for archive in series["archives"]]
        whisper.create(
            path, archives, xFilesFactor=series["xFilesFactor"], aggregationMethod=series["aggregationMethod"]
        )
        for t, v in series["points"]:
            whisper.update_many(path, [(int(t), float(v))], now=int(t))

    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0, run_syncdb=True)
    # Carbon enters every tagged series it creates into the tag database.
    from graphite.storage import STORE

    for series in spec["series"]:
        if ";" in series["name"]:
            STORE.tagdb.tag_series(series["name"])
    # A request graphite-web fails on answers 500, as its server would.
    client = Client(raise_request_exception=False)
    answers = []
    for pairs in spec["requests"]:
        query = {}
        path = "/render"
        for name, value in pairs:
            if name == "__path":
                path = value
            else:
                query.setdefault(name, []).append(value)
        response = client.get(path, query)
        answers.append({"status": response.status_code, "body": response.content.decode("utf-8", "replace")})
    json.dump(answers, sys.stdout)


if __name__ == "__main__":
    main()
