/* Search in the browser, offline: the index is sharded into plain script files (see
   archiver/site/search_index.py), loaded with <script> tags so that it works from file://.
   Results are built with textContent only: no message text is ever parsed as HTML. */
"use strict";
var CM = window.CM || {};
window.CM = CM;

CM.TERM_SHARDS = __TERM_SHARDS__;
CM.DOC_BUCKET = __DOC_BUCKET__;
CM.PAGE = 20;
CM._terms = {};
CM._docs = {};
CM._loading = {};

CM.terms = function (year, shard, postings) { CM._terms[year + "/" + shard] = postings; };
CM.docs = function (year, bucket, docs) { CM._docs[year + "/" + bucket] = docs; };

CM.load = function (src) {
  if (!CM._loading[src]) {
    CM._loading[src] = new Promise(function (resolve) {
      var script = document.createElement("script");
      script.src = src;
      script.onload = function () { resolve(true); };
      script.onerror = function () { resolve(false); };  /* a shard that does not exist: no terms */
      document.head.appendChild(script);
    });
  }
  return CM._loading[src];
};

/* FNV-1a over code points, as shard_of() in Python. */
CM.shardOf = function (term) {
  var h = 2166136261;
  for (var ch of term) {
    h ^= ch.codePointAt(0);
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h % CM.TERM_SHARDS;
};

var CJK = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+/g;

/* The query's parts (each must be in the text) and the terms to look up. */
CM.cut = function (query) {
  var parts = [], terms = [];
  var lowered = query.toLowerCase();
  var rest = lowered.replace(CJK, function (run) {
    parts.push(run);
    if (run.length === 1) terms.push(run);
    for (var i = 0; i + 1 < run.length; i++) terms.push(run.slice(i, i + 2));
    return " ";
  });
  (rest.match(/[\p{L}\p{N}]+/gu) || []).forEach(function (word) { parts.push(word); terms.push(word); });
  return { parts: parts, terms: Array.from(new Set(terms)) };
};

CM.postings = function (year, term) {
  var deltas = (CM._terms[year + "/" + CM.shardOf(term)] || {})[term];
  if (!deltas) return [];
  var ids = [], value = 0;
  for (var i = 0; i < deltas.length; i++) { value += deltas[i]; ids.push(value); }
  return ids;
};

/* Candidates: [year, id] pairs, newest year first, then by id (about the order kept). */
CM.find = async function (query, years) {
  var cut = CM.cut(query);
  if (!cut.terms.length) return { parts: [], ids: [] };
  var shards = Array.from(new Set(cut.terms.map(CM.shardOf)));
  var loads = [];
  years.forEach(function (year) {
    shards.forEach(function (s) {
      loads.push(CM.load("search/" + year + "/t-" + String(s).padStart(2, "0") + ".js"));
    });
  });
  await Promise.all(loads);
  var found = [];
  years.slice().sort().reverse().forEach(function (year) {
    var candidates = null;
    cut.terms.forEach(function (term) {
      var ids = new Set(CM.postings(year, term));
      candidates = candidates === null ? ids
        : new Set(Array.from(candidates).filter(function (id) { return ids.has(id); }));
    });
    Array.from(candidates || []).sort(function (a, b) { return b - a; })
      .forEach(function (id) { found.push([year, id]); });
  });
  return { parts: cut.parts, ids: found };
};

CM.doc = async function (year, id) {
  var bucket = Math.floor(id / CM.DOC_BUCKET);
  await CM.load("search/" + year + "/d-" + String(bucket).padStart(3, "0") + ".js");
  return (CM._docs[year + "/" + bucket] || {})[String(id)];
};

CM.search = function () {
  var box = document.getElementById("results");
  var input = document.getElementById("q");
  var query = (new URLSearchParams(window.location.search).get("q") || "").trim();
  if (!box || !query) return;
  input.value = query;
  var say = function (key, count) {
    return box.getAttribute(key).replace("{query}", query).replace("{count}", count);
  };
  box.textContent = "";
  var status = CM.text("p", "status", box.getAttribute("data-loading"));
  var list = CM.text("ol", "results");
  box.appendChild(status);
  box.appendChild(list);
  var years = (box.getAttribute("data-years") || "").split(" ").filter(Boolean);
  CM.find(query, years).then(async function (found) {
    var ids = found.ids || [], next = 0, shown = 0;
    var more = CM.text("button", "more", box.getAttribute("data-more"));
    more.type = "button";
    async function page() {
      more.remove();
      var batch = [];
      while (next < ids.length && batch.length < CM.PAGE) {
        var ref = ids[next++];
        var doc = await CM.doc(ref[0], ref[1]);
        if (!doc) continue;
        var text = doc[3].toLowerCase();
        if (found.parts.every(function (part) { return text.indexOf(part) !== -1; })) batch.push(doc);
      }
      batch.sort(function (a, b) { return a[1] < b[1] ? 1 : a[1] > b[1] ? -1 : 0; });
      batch.forEach(function (doc) {
        var item = CM.text("li", "result");
        var link = CM.text("a");
        link.href = doc[0];
        link.appendChild(CM.text("span", "date", doc[1]));
        link.appendChild(CM.text("span", "author", doc[2]));
        link.appendChild(CM.text("span", "snippet", doc[3]));
        item.appendChild(link);
        list.appendChild(item);
      });
      shown += batch.length;
      if (!shown) status.textContent = say("data-none", 0);
      else if (next < ids.length) { status.textContent = say("data-found-more", shown); box.appendChild(more); }
      else status.textContent = say("data-found", shown);
    }
    more.addEventListener("click", page);
    await page();
  });
};
