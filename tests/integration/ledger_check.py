#!/usr/bin/env python3
"""Reads an archive ledger workbook back with openpyxl, as a clerk would open it, and checks it
against what the test expects: title, frozen header, one row per case in volume order, totals,
and columns wide enough for their Chinese text.  Usage: ledger_check.py LEDGER.xlsx EXPECTED.json
where EXPECTED.json is {"month": "2026-03", "rows": [{"case_no", "team", "closed", "method",
"volume", "archived"}]} (dates as YYYY-MM-DD or null).  Prints what is wrong and exits 1."""
import datetime
import json
import sys
import unicodedata

import openpyxl

HEADER = ["序号", "案号", "承办团队", "结案日期", "结案方式", "卷号", "归档日期"]


def width(text):
    """Display width: a wide (Chinese) character takes two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(text))


def day(value):
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    return str(value)


def main():
    book = openpyxl.load_workbook(sys.argv[1])
    want = json.load(open(sys.argv[2], encoding="utf-8"))
    sheet = book.active
    wrong = []
    year, month = want["month"].split("-")
    title = sheet["A1"].value or ""
    if f"{year}年{int(month)}月" not in title or "归档台账" not in title:
        wrong.append(f"title {title!r} does not name {want['month']} and 归档台账")
    if "A1:G1" not in [str(r) for r in sheet.merged_cells.ranges]:
        wrong.append(f"the title is not merged over A1:G1: {sheet.merged_cells.ranges}")
    header = [c.value for c in sheet[2]]
    if header != HEADER:
        wrong.append(f"header {header} is not {HEADER}")
    if sheet.freeze_panes != "A3":
        wrong.append(f"the header is not frozen (freeze_panes {sheet.freeze_panes})")
    rows = want["rows"]
    for i, row in enumerate(rows):
        got = [c.value for c in sheet[3 + i]]
        expect = [i + 1, row["case_no"], row["team"] or "", row["closed"], row["method"],
                  row["volume"], row["archived"]]
        got = [got[0], got[1], got[2] or "", day(got[3]), got[4], got[5], day(got[6])]
        if got != expect:
            wrong.append(f"row {3 + i}: {got} is not {expect}")
            if len(wrong) > 10:
                break
    total = [c.value for c in sheet[3 + len(rows)]]
    archived = sum(1 for r in rows if r["archived"])
    numbered = sum(1 for r in rows if r["volume"])
    expect = ["合计", f"共{len(rows)}件", None, None, None, f"已编卷号{numbered}件",
              f"已归档{archived}件"]
    if total != expect:
        wrong.append(f"totals row {total} is not {expect}")
    if sheet.max_row != 3 + len(rows):
        wrong.append(f"{sheet.max_row} rows, not {3 + len(rows)}")
    # Every column is at least as wide as its widest text (dates show as 2026-03-10).
    for col in range(1, 8):
        letter = openpyxl.utils.get_column_letter(col)
        need = max(width(day(sheet.cell(r, col).value) or "")
                   for r in range(2, sheet.max_row + 1))
        have = sheet.column_dimensions[letter].width or 0
        if have < need:
            wrong.append(f"column {letter} ({HEADER[col - 1]}) is {have} wide, its text needs {need}")
    if wrong:
        print("\n".join(wrong))
        return 1
    print(f"ledger {want['month']}: {len(rows)} rows as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
