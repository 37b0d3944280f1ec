// A row page is one wide row; provenance (fetch time, SHA-256, the original) ends up
// off-screen to the right. Shown as name | value lines instead: table.nb-vertical, styled
// in nianbao.css. Linked by archive.publish.plugin on the row pages, before readable.js.

function verticalTable(table) {
  const names = Array.from(table.querySelectorAll("thead th"), (th) => th.textContent.trim());
  const vertical = document.createElement("table");
  vertical.className = "nb-vertical";
  Array.from(table.tBodies[0].rows[0].cells).forEach((cell, i) => {
    const line = vertical.insertRow();
    const name = document.createElement("th");
    name.textContent = names[i];
    line.append(name, cell);
  });
  return vertical;
}

const row = document.querySelector("table.rows-and-columns");
if (row && row.tBodies[0] && row.tBodies[0].rows.length === 1) {
  row.replaceWith(verticalTable(row));
}
