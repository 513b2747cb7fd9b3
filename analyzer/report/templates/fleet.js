(function () {
  "use strict";
  var table = document.getElementById("machines");
  if (!table) { return; }
  var body = table.tBodies[0];
  var filter = document.getElementById("filter");
  var verdict = document.getElementById("verdict-filter");
  var shown = document.getElementById("shown");

  function key(row, col) {
    var cell = row.cells[col];
    var value = cell.getAttribute("data-sort");
    return value === null ? cell.textContent.trim() : value;
  }

  function compare(a, b) {
    var x = Number(a), y = Number(b);
    if (a !== "" && b !== "" && !isNaN(x) && !isNaN(y)) { return x - y; }
    return a.localeCompare(b, undefined, {numeric: true, sensitivity: "base"});
  }

  function sortBy(th) {
    var col = th.cellIndex;
    var descending = th.getAttribute("aria-sort") === "ascending";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (r1, r2) {
      var order = compare(key(r1, col), key(r2, col));
      if (order === 0) { order = Number(r1.getAttribute("data-n")) - Number(r2.getAttribute("data-n")); }
      else if (descending) { order = -order; }
      return order;
    });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (other) { other.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function apply() {
    var words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    var wanted = verdict.value;
    var count = 0;
    Array.prototype.forEach.call(body.rows, function (row) {
      var text = row.textContent.toLowerCase();
      var ok = (!wanted || row.getAttribute("data-verdict") === wanted) &&
        words.every(function (w) { return text.indexOf(w) !== -1; });
      row.hidden = !ok;
      if (ok) { count += 1; }
    });
    shown.textContent = String(count);
  }

  Array.prototype.forEach.call(table.querySelectorAll("th button.sort"), function (button) {
    button.addEventListener("click", function () { sortBy(button.parentNode); });
  });
  filter.addEventListener("input", apply);
  verdict.addEventListener("change", apply);
  document.getElementById("controls").hidden = false;
  apply();
}());
