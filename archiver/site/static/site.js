/* Community Memory archive site: reading preferences and "on this day" (no network, works
   from file://). Everything here is progressive: the pages read fine without it. */
"use strict";
var CM = window.CM || {};
window.CM = CM;

(function () {
  var root = document.documentElement;
  var saved = {};
  try { saved = JSON.parse(localStorage.getItem("cm-view") || "{}"); } catch (e) { saved = {}; }
  ["large", "contrast"].forEach(function (name) { if (saved[name]) root.classList.add(name); });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button[data-toggle]").forEach(function (button) {
      var name = button.getAttribute("data-toggle");
      button.setAttribute("aria-pressed", root.classList.contains(name) ? "true" : "false");
      button.addEventListener("click", function () {
        var on = root.classList.toggle(name);
        button.setAttribute("aria-pressed", on ? "true" : "false");
        saved[name] = on;
        try { localStorage.setItem("cm-view", JSON.stringify(saved)); } catch (e) { /* private mode */ }
      });
    });
  });
})();

CM.text = function (tag, className, text) {
  var node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
};

CM.dayIndex = {};
CM.days = function (year, index) {
  Object.keys(index).forEach(function (day) {
    CM.dayIndex[day] = (CM.dayIndex[day] || []).concat(index[day]);
  });
};

/* The reader's today (or ?day=MM-DD), looked up in search/days.js. */
CM.onThisDay = function () {
  var box = document.getElementById("otd");
  if (!box) return;
  var asked = new URLSearchParams(window.location.search).get("day");
  var now = new Date();
  var key = /^\d\d-\d\d$/.test(asked || "") ? asked
    : String(now.getMonth() + 1).padStart(2, "0") + "-" + String(now.getDate()).padStart(2, "0");
  var year = now.getFullYear();
  document.getElementById("otd-date").textContent = "· " + key;
  var found = (CM.dayIndex[key] || []).filter(function (entry) { return Number(entry[0]) < year; });
  found.sort(function (a, b) { return Number(b[0]) - Number(a[0]); });
  box.textContent = "";
  if (!found.length) {
    box.appendChild(CM.text("p", "none", box.getAttribute("data-none")));
    return;
  }
  var list = CM.text("ul", "memories");
  found.forEach(function (entry) {
    var item = CM.text("li");
    var link = CM.text("a", null);
    link.href = entry[1];
    var ago = year - Number(entry[0]);
    link.appendChild(CM.text("span", "year", box.getAttribute("data-years").replace("{years}", ago) + " · " + entry[0]));
    link.appendChild(CM.text("span", "author", entry[2]));
    link.appendChild(CM.text("span", "snippet", entry[3]));
    item.appendChild(link);
    list.appendChild(item);
  });
  box.appendChild(list);
};
