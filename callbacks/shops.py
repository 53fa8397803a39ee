"""Callbacks of the shop registry (商户台账, ``/shops``): the paged table, the streets' plaques
links, the registry import with its report, and the QR code's revoke-and-reissue (asked,
confirmed, done as the signed-in user)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, no_update

from api.auth import current_principal, require_roles
from data.shop_admin import clean_street, import_upload, list_shops, reissue_token, street_counts
from data.shop_registry import shop_by_code
from i18n import current_lang, t
from layouts import _ids as ids
from layouts import shops as page
from services import get_services
from shops.registry import RegistryFileError
from shops.tokens import public_url_for


def _page_number(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 1


@dash.callback(Output(ids.SHOPS_TABLE, "children"), Output(ids.SHOPS_PAGER, "children"),
               Output(ids.SHOPS_PREV, "disabled"), Output(ids.SHOPS_NEXT, "disabled"),
               Input(ids.SHOPS_QUERY, "value"), Input(ids.SHOPS_STREET, "value"),
               Input(ids.SHOPS_PAGE, "data"), Input(ids.SHOPS_VERSION, "data"))
@require_roles(*page.ROLES)
def show_table(query: Any, street: Any, number: Any, _version: Any) -> tuple[Any, ...]:
    """One page of the registry for the search and the street picked."""
    services, lang = get_services(), current_lang()
    with services.session() as session:
        found = list_shops(session, query=query if isinstance(query, str) else None,
                           street=clean_street(street), page=_page_number(number),
                           per_page=page.PER_PAGE)
    return (page.shop_table(found, lang, services.cases.calendar.tz),
            page.pager_text(found, lang), found.page <= 1, found.page >= found.pages)


@dash.callback(Output(ids.SHOPS_PAGE, "data"),
               Input(ids.SHOPS_PREV, "n_clicks"), Input(ids.SHOPS_NEXT, "n_clicks"),
               Input(ids.SHOPS_QUERY, "value"), Input(ids.SHOPS_STREET, "value"),
               State(ids.SHOPS_PAGE, "data"), prevent_initial_call=True)
@require_roles(*page.ROLES)
def turn_page(_prev: Any, _next: Any, _query: Any, _street: Any, number: Any) -> int:
    """Previous / next page; a new search or street starts again at page 1."""
    step = {ids.SHOPS_PREV: -1, ids.SHOPS_NEXT: 1}.get(ctx.triggered_id)  # type: ignore[arg-type]
    return max(1, _page_number(number) + step) if step else 1


@dash.callback(Output(ids.SHOPS_STREETS, "children"), Input(ids.SHOPS_VERSION, "data"))
@require_roles(*page.ROLES)
def show_streets(_version: Any) -> Any:
    """Every street with its active shops and its plaques PDF link."""
    with get_services().session() as session:
        streets = street_counts(session)
    return page.street_list(streets, current_lang())


def _decode(contents: str) -> bytes:
    """The bytes of a ``data:…;base64,…`` upload (ValueError when it is not one)."""
    head, sep, body = contents.partition(",")
    if not sep or ";base64" not in head:
        raise ValueError("not a base64 data URL")
    try:
        return base64.b64decode(body, validate=True)
    except binascii.Error as exc:
        raise ValueError(str(exc)) from None


@dash.callback(Output(ids.SHOPS_REPORT, "children"),
               Output(ids.SHOPS_VERSION, "data", allow_duplicate=True),
               Output(ids.SHOPS_UPLOAD, "contents"),
               Input(ids.SHOPS_UPLOAD, "contents"), State(ids.SHOPS_UPLOAD, "filename"),
               State(ids.SHOPS_DRY_RUN, "value"), State(ids.SHOPS_VERSION, "data"),
               prevent_initial_call=True)
@require_roles(*page.ROLES)
def import_file(contents: Any, filename: Any, dry_run: Any, version: Any) -> tuple[Any, ...]:
    """Import the uploaded file (or only check it, dry run) and show the report. The upload
    is cleared so that the same file can be chosen again."""
    if not isinstance(contents, str) or not contents:
        return no_update, no_update, no_update
    lang = current_lang()
    name = filename if isinstance(filename, str) and filename else "upload.csv"
    if len(contents) > page.MAX_UPLOAD_BYTES * 4 // 3 + 200:
        text = t("shops.too_big", lang).format(mb=page.MAX_UPLOAD_BYTES // 2**20)
        return page.message(False, text), no_update, None
    try:
        data = _decode(contents)
        with get_services().transaction() as session:
            report = import_upload(session, data, name, dry_run=dry_run is True)
    except ValueError as exc:  # RegistryFileError is a ValueError with its own texts
        text = ((exc.en if lang == "en" else exc.zh) if isinstance(exc, RegistryFileError)
                else t("shops.bad_upload", lang))
        return page.message(False, t("shops.file_error", lang) + text), no_update, None
    next_version = (version if isinstance(version, int) else 0) + 1
    return page.import_report(report, name, lang), next_version, None


@dash.callback(Output(ids.SHOPS_PENDING, "data"), Output(ids.SHOPS_MODAL_BODY, "children"),
               Output(ids.SHOPS_MODAL, "is_open"),
               Input({"type": ids.SHOPS_REVOKE, "code": ALL}, "n_clicks"),
               prevent_initial_call=True)
@require_roles(*page.ROLES)
def ask_revoke(_clicks: list[Any]) -> tuple[Any, ...]:
    """Ask before revoking: which shop, and what a new code means for its plaque."""
    trigger = ctx.triggered_id
    clicked = ctx.triggered[0].get("value") if ctx.triggered else None
    if not isinstance(trigger, dict) or not clicked or not isinstance(trigger.get("code"), str):
        return no_update, no_update, no_update  # the table was redrawn, nothing clicked
    with get_services().session() as session:
        shop = shop_by_code(session, trigger["code"])
        name = shop.name if shop is not None else None
    if name is None:
        return no_update, no_update, no_update
    return trigger["code"], page.confirm_text(name, trigger["code"], current_lang()), True


@dash.callback(Output(ids.SHOPS_MODAL, "is_open", allow_duplicate=True),
               Input(ids.SHOPS_CANCEL, "n_clicks"), prevent_initial_call=True)
@require_roles(*page.ROLES)
def cancel_revoke(_clicks: Any) -> bool:
    return False


@dash.callback(Output(ids.SHOPS_MESSAGE, "children"),
               Output(ids.SHOPS_VERSION, "data", allow_duplicate=True),
               Output(ids.SHOPS_MODAL, "is_open", allow_duplicate=True),
               Output(ids.SHOPS_PENDING, "data", allow_duplicate=True),
               Input(ids.SHOPS_CONFIRM, "n_clicks"), State(ids.SHOPS_PENDING, "data"),
               State(ids.SHOPS_VERSION, "data"), prevent_initial_call=True)
@require_roles(*page.ROLES)
def confirm_revoke(clicks: Any, code: Any, version: Any) -> tuple[Any, ...]:
    """Revoke the pending shop's QR token as the signed-in user and show the new URL."""
    if not clicks or not isinstance(code, str) or not code:
        return no_update, no_update, False, None
    services, lang, who = get_services(), current_lang(), current_principal()
    with services.transaction() as session:
        done = reissue_token(session, code, who.user_id if who is not None else None)
        name = done[0].name if done is not None else None
        token = done[1] if done is not None else None
    if token is None:
        return page.message(False, t("shops.no_shop", lang).format(code=code)), no_update, \
            False, None
    url = public_url_for(services.settings.public_url, token)
    text = t("shops.revoked", lang).format(name=name, code=code)
    return (page.message(True, text, url), (version if isinstance(version, int) else 0) + 1,
            False, None)
