"""The service catalogue (服务事项) and its workflows: what each township offers, at what fee and within
how many days, and the steps an application of an item goes through. Items are withdrawn, never deleted."""
from __future__ import annotations

from datetime import datetime

from services.directory.adapters import orm
from services.directory.adapters.repositories import DirectoryUnitOfWork
from services.directory.domain.rules import Record, require_manage, require_visible
from services.directory.domain.workflow import check_workflow
from services.directory.service_layer.common import (
    add_record,
    change_record,
    check_listing,
    get_record,
    require_absent,
    snapshot,
)
from shared.contracts import directory as c
from shared.contracts.base import parse
from shared.contracts.caller import Caller


def catalogue_public(row: orm.CatalogueItem) -> c.CatalogueItemPublic:
    kind = c.ItemKind.IMMEDIATE if row.promised_days == 0 else c.ItemKind.PROMISED
    workflow = row.workflow or c.default_workflow(c.HandlingLevel(row.handling_level), row.promised_days)
    return snapshot(c.CatalogueItemPublic, row, kind=kind, workflow=workflow, custom_workflow=row.workflow is not None)


def create_catalogue_item(uow: DirectoryUnitOfWork, *, caller: Caller, cmd: c.CatalogueItemCreate,
                          now: datetime) -> c.CatalogueItemPublic:
    require_manage(caller, Record.CATALOGUE, cmd.township_code)
    get_record(uow.townships, cmd.township_code, Record.TOWNSHIP)
    require_absent(uow.catalogue, (cmd.township_code, cmd.code), Record.CATALOGUE)
    return add_record(uow, uow.catalogue, orm.CatalogueItem(status=c.ItemStatus.ACTIVE.value, **cmd.model_dump()),
                      public=catalogue_public, event_type="catalogue_item_changed", township_code=cmd.township_code,
                      now=now)


def _visible_item(uow: DirectoryUnitOfWork, caller: Caller, township_code: str, code: str) -> orm.CatalogueItem:
    require_visible(caller, Record.CATALOGUE, township_code)
    return get_record(uow.catalogue, (township_code, code), Record.CATALOGUE)


def update_catalogue_item(uow: DirectoryUnitOfWork, *, caller: Caller, township_code: str, code: str,
                          cmd: c.CatalogueItemUpdate, now: datetime) -> c.CatalogueItemPublic:
    row = _visible_item(uow, caller, township_code, code)
    require_manage(caller, Record.CATALOGUE, township_code)
    changes = cmd.model_dump(exclude_unset=True)
    merged = {**catalogue_public(row).model_dump(include=set(c.CatalogueItemFields.model_fields), mode="json"),
              **cmd.model_dump(exclude_unset=True, mode="json")}
    item = parse(c.CatalogueItemFields, merged)  # the whole item must still be valid after the change
    if row.workflow is not None:  # and its workflow must still fit the promised limit
        check_workflow(c.WorkflowDefinition.model_validate(row.workflow), item.promised_days)
    return change_record(uow, row, changes, public=catalogue_public, event_type="catalogue_item_changed",
                         township_code=township_code, now=now)


def set_catalogue_workflow(uow: DirectoryUnitOfWork, *, caller: Caller, township_code: str, code: str,
                           workflow: c.WorkflowDefinition | None, now: datetime) -> c.CatalogueItemPublic:
    """Give an item its own workflow (validated before it is saved), or None to use the default one."""
    row = _visible_item(uow, caller, township_code, code)
    require_manage(caller, Record.CATALOGUE, township_code)
    if workflow is not None:
        check_workflow(workflow, row.promised_days)
    return change_record(uow, row, {"workflow": workflow.model_dump(mode="json") if workflow else None},
                         public=catalogue_public, event_type="catalogue_item_changed", township_code=township_code,
                         now=now)


def withdraw_catalogue_item(uow: DirectoryUnitOfWork, *, caller: Caller, township_code: str, code: str,
                            now: datetime) -> c.CatalogueItemPublic:
    """Items are withdrawn, never deleted: applications filed against them keep their meaning."""
    row = _visible_item(uow, caller, township_code, code)
    require_manage(caller, Record.CATALOGUE, township_code)
    return change_record(uow, row, {"status": c.ItemStatus.WITHDRAWN.value}, public=catalogue_public,
                         event_type="catalogue_item_changed", township_code=township_code, now=now)


def get_catalogue_item(uow: DirectoryUnitOfWork, *, caller: Caller, township_code: str,
                       code: str) -> c.CatalogueItemPublic:
    return catalogue_public(_visible_item(uow, caller, township_code, code))


def list_catalogue(uow: DirectoryUnitOfWork, *, caller: Caller, township_code: str | None,
                   category: c.Category | None, include_withdrawn: bool, page: c.Page) -> list[c.CatalogueItemPublic]:
    check_listing(caller, township_code, Record.CATALOGUE)
    rows = uow.catalogue.within_reach(caller, page, township_code, category=category,
                                      include_withdrawn=include_withdrawn)
    return [catalogue_public(r) for r in rows]


def public_catalogue(uow: DirectoryUnitOfWork, *, township_code: str, category: c.Category | None,
                     page: c.Page) -> list[c.CatalogueItemPublic]:
    """公开原则: anyone may read a township's active catalogue, fees and promised limits included."""
    get_record(uow.townships, township_code, Record.TOWNSHIP)
    return [catalogue_public(r) for r in uow.catalogue.offered_by(township_code, category, page)]
