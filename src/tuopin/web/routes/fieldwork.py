"""What a region's enumerators take to the field, from the region's page: the survey form
made for the area (XLSForm for ODK Central or KoboToolbox) and its households file."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from tuopin.domain.errors import NotFound
from tuopin.io.xlsform_households import Layout, households_csv
from tuopin.services.assessment import runs
from tuopin.services.fieldwork import forms
from tuopin.standards.loader import shipped
from tuopin.web.deps import PrincipalDep, SessionDep

router = APIRouter(prefix="/fieldwork")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
Year = Annotated[int, Query(ge=2000, le=2100)]
Name = Annotated[str, Query(max_length=64)]


@router.get("/{code}/form.xlsx")
def area_form(db: SessionDep, principal: PrincipalDep, code: str, year: Year,
              standard: Name = "cn-national") -> Response:
    if standard not in shipped():  # never a path: the web offers the shipped standards
        raise NotFound(f"no standard {standard}")
    form = forms.area_form(db, principal=principal, region=code,
                           standard=runs.standard_of(standard), year=year)
    return Response(form.to_bytes(), media_type=XLSX, headers={
        "Content-Disposition": f'attachment; filename="{form.form_id}.xlsx"'})


@router.get("/{code}/households.csv")
def households(db: SessionDep, principal: PrincipalDep, code: str,
               layout: Layout = Layout.MEDIA) -> Response:
    rows = forms.households(db, principal=principal, region=code)
    name = "households.csv" if layout is Layout.MEDIA else f"households-{code}-entities.csv"
    return Response(households_csv(rows, layout), media_type=CSV, headers={
        "Content-Disposition": f'attachment; filename="{name}"'})
