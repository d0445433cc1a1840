// Live progress of a running sync on the sync page (/sync).
//
// The page marks a running run with <div id="sync-live" data-poll=…>: this
// script asks the JSON API for the tenant's newest run every 2 seconds while
// that run is running, and writes its counts into the page in place, with
// textContent only (never HTML). When the run ends it says so and stops;
// when a newer run appears (after "Sync now") it loads the page again to
// show it. Without this
// script the page offers a "Refresh" link instead.
(function () {
  "use strict";

  var POLL_MS = 2000;
  var RETRY_MS = 5000;
  var WAIT_FOR_START_MS = 60000; // after "Sync now", how long to wait for the run to appear

  var live = document.getElementById("sync-live");
  if (!live || !window.fetch || !window.JSON) {
    return;
  }
  var pollURL = live.getAttribute("data-poll");
  var runID = Number(live.getAttribute("data-run")) || 0;
  var newest = Number(live.getAttribute("data-newest")) || 0;
  var waitUntil = live.hasAttribute("data-started") ? Date.now() + WAIT_FOR_START_MS : 0;
  var refreshURL = live.getAttribute("data-refresh") || window.location.pathname;
  var statusLine = document.getElementById("sync-live-status");

  // Labels as the server writes them (internal/web/sync_list.go).
  var runLabels = {
    running: "Running",
    succeeded: "Succeeded",
    failed: "Failed",
    cancelled: "Cancelled",
    needs_review: "Needs review (deletions withheld)"
  };
  var resourceLabels = {
    waiting: "Waiting",
    running: "Fetching",
    staged: "Staged",
    applied: "Applied",
    not_captured: "Not captured",
    failed: "Failed",
    skipped: "Skipped",
    needs_review: "Needs review"
  };
  var counts = ["fetched", "added", "changed", "deleted", "withheld"];

  // duration mirrors syncDuration in sync_list.go.
  function duration(ms) {
    if (!(ms > 0)) {
      return "0 ms";
    }
    if (ms < 1000) {
      return Math.floor(ms) + " ms";
    }
    var s = ms / 1000;
    if (s < 60) {
      return s.toFixed(1) + " s";
    }
    if (s < 3600) {
      return Math.floor(s / 60) + " min " + (Math.floor(s) % 60) + " s";
    }
    return Math.floor(s / 3600) + " h " + (Math.floor(s / 60) % 60) + " min";
  }

  function setText(el, text) {
    if (el && el.textContent !== text) {
      el.textContent = text;
    }
  }

  function field(scope, name) {
    return scope.querySelector('[data-field="' + name + '"]');
  }

  function runElement(id) {
    return document.getElementById("run-" + id);
  }

  // row returns the table row of a collection, adding one if the page has
  // none (a collection this page did not know about).
  function row(details, collection) {
    var rows = details.querySelectorAll("tr[data-collection]");
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].getAttribute("data-collection") === collection) {
        return rows[i];
      }
    }
    var tbody = details.querySelector("tbody");
    if (!tbody) {
      return null;
    }
    var tr = document.createElement("tr");
    tr.setAttribute("data-collection", collection);
    var th = document.createElement("th");
    th.setAttribute("scope", "row");
    th.textContent = collection;
    tr.appendChild(th);
    var names = ["status"].concat(counts, ["duration", "message"]);
    for (var j = 0; j < names.length; j++) {
      var td = document.createElement("td");
      td.setAttribute("data-field", names[j]);
      if (names[j] !== "status" && names[j] !== "message") {
        td.className = "num";
      }
      tr.appendChild(td);
    }
    tbody.appendChild(tr);
    return tr;
  }

  function update(run) {
    var details = runElement(run.id);
    if (!details) {
      return;
    }
    var summary = details.querySelector("summary");
    var status = field(summary, "status");
    setText(status, runLabels[run.status] || run.status);
    if (status) {
      status.className = "sync-status status-" + run.status;
    }
    var started = Date.parse(run.startedAt);
    var ended = run.finishedAt ? Date.parse(run.finishedAt) : Date.now();
    setText(field(summary, "duration"), (run.finishedAt ? "took " : "running for ") + duration(ended - started));
    if (run.finishedAt) {
      setText(field(details, "finished"), new Date(run.finishedAt).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC"));
    }
    var resources = run.resources || {};
    for (var collection in resources) {
      if (!Object.prototype.hasOwnProperty.call(resources, collection)) {
        continue;
      }
      var rs = resources[collection];
      var tr = row(details, collection);
      if (!tr) {
        continue;
      }
      var cell = field(tr, "status");
      setText(cell, resourceLabels[rs.status] || rs.status);
      if (cell) {
        cell.className = "status-" + rs.status;
      }
      for (var i = 0; i < counts.length; i++) {
        setText(field(tr, counts[i]), String(rs[counts[i]] || 0));
      }
      setText(field(tr, "duration"), duration(rs.durationMs));
      setText(field(tr, "message"), rs.error || rs.note || "");
    }
  }

  function finished(run) {
    setText(statusLine, "Run " + run.id + " finished: " + (runLabels[run.status] || run.status) + ".");
    if (run.error) {
      var details = runElement(run.id);
      if (details && !details.querySelector(".sync-message")) {
        var p = document.createElement("p");
        p.className = "sync-message status-" + run.status;
        p.textContent = run.error;
        var body = details.querySelector(".sync-run-body");
        if (body) {
          body.insertBefore(p, body.firstChild);
        }
      }
    }
  }

  function schedule(ms) {
    window.setTimeout(poll, ms || POLL_MS);
  }

  function poll() {
    fetch(pollURL, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (resp) {
        if (!resp.ok) {
          throw new Error("HTTP " + resp.status);
        }
        return resp.json();
      })
      .then(function (runs) {
        var run = runs && runs[0];
        if (!run) {
          if (Date.now() < waitUntil) {
            schedule();
          }
          return;
        }
        if (run.id !== runID) {
          if (run.id > newest && run.id > runID) {
            window.location.replace(refreshURL); // a run this page has not shown yet
          } else if (!runID && Date.now() < waitUntil) {
            schedule();
          }
          return;
        }
        update(run);
        if (run.status === "running") {
          schedule();
        } else {
          finished(run);
        }
      })
      .catch(function () {
        schedule(RETRY_MS);
      });
  }

  schedule();
})();
