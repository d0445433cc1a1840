#!/usr/bin/env python3
"""Runs a command and prints the CPU seconds PostgreSQL's processes spent
meanwhile (user + system, from /proc; run it as a user who can read them).

The page benchmark's own process (server and clients) is measured by
/usr/bin/time; this gives the database's share of the same run:

  go test -c -o /tmp/web.test ./internal/web
  cd internal/web && STEWARD_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/steward_pages?sslmode=disable \\
    ../../scripts/pg-cpu.py /usr/bin/time -f "%U s user, %S s system" /tmp/web.test -test.run '^$' \\
    -test.bench 'BenchmarkPages/^accounts$' -test.benchtime 3200x -pages.clients 32

Backends that exit during the run are counted up to their last sample
(every 0.2 s)."""
import os
import subprocess
import sys
import time

HZ = os.sysconf("SC_CLK_TCK")


def postgres_ticks():
    ticks = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        if stat[stat.index("(") + 1 : stat.rindex(")")] != "postgres":
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks[pid] = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks


start = postgres_ticks()
last = dict(start)
proc = subprocess.Popen(sys.argv[1:])
while proc.poll() is None:
    last.update(postgres_ticks())
    time.sleep(0.2)
used = sum(t - start.get(pid, 0) for pid, t in last.items())
print(f"PostgreSQL CPU: {used / HZ:.2f} s")
sys.exit(proc.returncode)
