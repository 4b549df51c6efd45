#!/usr/bin/env python3
"""mirror_fill.py - fills a desktop mirror (client/lib/mirror_schema.sql) straight from
PostgreSQL, as the sync contract says the server sends it (docs/SYNC.md): each row as
PostgreSQL's jsonb_build_array(...) of the mirror table's columns, in their order, bytea
as lower-case hex; and only the rows of the user's scope. The offline-read test uses it
to read the mirror independently of the pull (tests/integration/test_offline_reads.sh).

usage: mirror_fill.py PATH USERNAME SERVER ROLE USER_ID CONTRACTOR_ID PROJECTS SYNCED_MS
  PROJECTS: comma-separated project ids of a project-scoped role, "" for every project
  (HQ) or the contractor's projects (ROLE contractor). psql reads CLOSELOOP_DB_CONNINFO.
"""
import json
import os
import sqlite3
import subprocess
import sys

path, user, server, role, user_id, contractor, projects, synced_ms = sys.argv[1:9]
conninfo = os.environ["CLOSELOOP_DB_CONNINFO"]
schema = os.path.join(os.environ["CL_SOURCE_DIR"], "client/lib/mirror_schema.sql")


def psql(q):
    r = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", conninfo, "-c", q],
                       capture_output=True, text=True, check=True)
    return r.stdout.splitlines()


con = int(contractor)
if role == "contractor":
    proj = "SELECT project_id FROM project_trades WHERE contractor_id = %d" % con
elif projects:
    proj = projects
else:
    proj = None

# Which rows of each table are the user's (the scope of docs/SYNC.md).
mine_ticket = "contractor_id = %d" % con
where = {}
for t in ["buildings", "units", "project_trades", "trade_aliases", "inspection_rounds",
          "inspection_records", "inspection_items", "tickets", "ticket_events", "owners",
          "defects"]:
    where[t] = "project_id IN (%s)" % proj if proj else "true"
where["projects"] = "id IN (%s)" % proj if proj else "true"
where["item_photos"] = ("item_id IN (SELECT id FROM inspection_items WHERE %s)"
                        % where["inspection_items"])
if role == "contractor":
    where["tickets"] = mine_ticket
    where["inspection_items"] = "id IN (SELECT id FROM tickets WHERE %s)" % mine_ticket
    where["item_photos"] = "item_id IN (SELECT id FROM tickets WHERE %s)" % mine_ticket
    where["ticket_events"] = "ticket_id IN (SELECT id FROM tickets WHERE %s)" % mine_ticket
    for t in ["inspection_records", "owners", "defects"]:
        where[t] = "false"

db = sqlite3.connect(path)
db.executescript(open(schema, encoding="utf-8").read())
db.execute("PRAGMA user_version = 1")
meta = {"username": user, "server": server, "role": role, "user_id": user_id,
        "contractor_id": contractor, "synced_ms": synced_ms}
db.executemany("INSERT INTO sync_meta (key, value) VALUES (?, ?)", meta.items())
counts = {}
for t in ["companies", "projects", "buildings", "units", "contractors", "trades",
          "project_trades", "trade_aliases", "inspection_rounds", "inspection_records",
          "inspection_items", "item_photos", "tickets", "ticket_events"]:
    cols = [r[1] for r in db.execute("PRAGMA table_info(%s)" % t)]
    exprs = ["encode(%s, 'hex')" % c if (t, c) == ("item_photos", "sha256") else c for c in cols]
    q = "SELECT jsonb_build_array(%s)::text FROM %s WHERE %s" % (
        ", ".join(exprs), t, where.get(t, "true"))
    rows = [json.loads(line) for line in psql(q)]
    db.executemany("INSERT INTO %s VALUES (%s)" % (t, ", ".join("?" * len(cols))), rows)
    counts[t] = len(rows)
db.commit()
db.close()
print(" ".join("%s=%d" % kv for kv in counts.items()))
