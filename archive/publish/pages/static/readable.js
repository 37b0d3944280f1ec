// Long report text and 20-odd column descriptions would push the rows below the fold: the
// descriptions fold into a <details>, long cells scroll inside a box (div.nb-clip, sized
// in nianbao.css). Linked by archive.publish.plugin on the database, table, query and
// row pages; a module, so it runs once the page is parsed.

const LONG_CELLS = "td.col-text, td.col-stats, td.col-warnings";

function foldColumnDescriptions() {
  const descriptions = document.querySelector("dl.column-descriptions");
  if (!descriptions) return;
  const details = document.createElement("details");
  const summary = document.createElement("summary");
  summary.textContent = "列说明";
  descriptions.before(details);
  details.append(summary, descriptions);
}

function boxLongCells() {
  for (const cell of document.querySelectorAll(LONG_CELLS)) {
    const box = document.createElement("div");
    box.className = "nb-clip";
    box.append(...cell.childNodes);
    cell.append(box);
  }
}

foldColumnDescriptions();
boxLongCells();
