"""What a spreadsheet or a paste does to train.csv's id cells, undone where it can be and said where it cannot.

- Characters no one sees (a zero-width space from a web page, a BOM) and quotes after a space: stripped.
- Excel's `="0123"`, the way to keep an id's leading zeros (a CSV made for Excel holds it so): read as
  what it holds, said once.
- An all-digit id a spreadsheet showed and saved as a number (`1.23457E+15`): its digits are lost, so
  it is skipped, with what to do.
- Anything else outside SAFE_ID_PATTERN could make the derived path point outside the dataset: skipped.
"""

from __future__ import annotations

import pandas as pd

from glr.data.train_csv import INVISIBLE

SAFE_ID_PATTERN = r"[0-9A-Za-z_-]{3,64}"  # GLDv2 ids are 16 hex digits; no "/" or ".." gets through
EXCEL_TEXT = r'\s*="(.*)"\s*'  # Excel's formula for a text cell: ="0123"


def unwrap_excel(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """`values` with Excel's ="..." wrapper taken off, and the mask of those that had it."""
    inner = values.str.extract(f"^{EXCEL_TEXT}$", expand=False)
    wrapped = inner.notna()
    return values.where(~wrapped, inner), wrapped


def _unsafe(ids: pd.Series) -> pd.Series:
    return ~ids.str.fullmatch(SAFE_ID_PATTERN).fillna(False).astype(bool)


def safe_ids(df: pd.DataFrame, csv_name: str) -> tuple[pd.DataFrame, list[str]]:
    """`df` (its "id" column text) with the ids cleaned as the module says, the rows it cannot use dropped; and notes."""
    from glr.data.layouts import examples, have, plural  # the message helpers; layouts imports this module

    problems = []
    unsafe = _unsafe(df["id"])
    if unsafe.any():  # all of this only for the few ids that are not plain: GLDv2 has 4 million
        ids, excel = unwrap_excel(df.loc[unsafe, "id"])
        if excel.any():
            problems.append(f"{plural(int(excel.sum()), 'row')} {have(int(excel.sum()))} an id in Excel's =\"...\" "
                            f"wrapper (the way it keeps leading zeros), e.g. {examples(df.loc[unsafe, 'id'][excel])}; "
                            "read as what it holds")
        df.loc[unsafe, "id"] = ids.str.strip(INVISIBLE).str.strip()
        unsafe = _unsafe(df["id"])
    # A spreadsheet shows an id of digits only (`1234567890123456`, valid hex) as `1.23457E+15` and saves it so:
    # its digits are lost, and "not a plain file name" would not say why.
    numbers = unsafe & df["id"].str.fullmatch(r"[0-9]+(?:[.,][0-9]*)?[eE]\+?[0-9]+").fillna(False).astype(bool)
    if numbers.any():
        problems.append(
            f"{plural(int(numbers.sum()), 'row')} {have(int(numbers.sum()))} an id a spreadsheet turned into a number "
            f"(e.g. {examples(df.loc[numbers, 'id'])}), losing its digits; skipped: format the id column as Text "
            f"and save {csv_name} again from the original file")
        df, unsafe = df.loc[~numbers], unsafe[~numbers]
    if unsafe.any():
        problems.append(
            f"{plural(int(unsafe.sum()), 'row')} {have(int(unsafe.sum()))} an id that is not a plain file name "
            f"(e.g. {examples(df.loc[unsafe, 'id'])}); skipped, so nothing outside the dataset is read"
        )
        df = df.loc[~unsafe]
    return df, problems
