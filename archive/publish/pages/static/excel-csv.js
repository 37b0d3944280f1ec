// Excel on Chinese Windows reads a UTF-8 CSV without a byte-order mark as GBK. The plugin
// adds the mark (and defuses formulas) for `.csv?_bom=1`; this offers it: a checkbox,
// checked, on the CSV export form, and a "CSV for Excel" link beside every CSV link.
// Linked by archive.publish.plugin on the table and stored-query pages.

const CHECKBOX_LABEL = "Excel 用（UTF-8 BOM）";
const LINK_TEXT = "CSV（Excel 中文）";

function addExcelCheckbox(form) {
  const line = form.querySelector("p") || form;
  const label = document.createElement("label");
  const box = document.createElement("input");
  box.type = "checkbox";
  box.name = "_bom";
  box.value = "1";
  box.defaultChecked = true; // the checked attribute: checked until the reader unticks it
  label.append(box, " " + CHECKBOX_LABEL);
  line.insertBefore(label, line.querySelector("input[type=submit]"));
}

function addExcelLink(link) {
  const excel = document.createElement("a");
  excel.href = link.href + (link.href.includes("?") ? "&" : "?") + "_bom=1&_dl=1";
  excel.textContent = LINK_TEXT;
  link.after(", ", excel);
}

document.querySelectorAll('form[action$=".csv"]').forEach(addExcelCheckbox);
document.querySelectorAll('p.export-links a[href*=".csv"]').forEach(addExcelLink);
