"""Campaign use cases 专题: a themed campaign over a period, which topical visits belong to."""
from __future__ import annotations

from services.scheduling.adapters import orm
from services.scheduling.adapters.repositories import SchedulingUnitOfWork
from services.scheduling.service_layer.sessions import require_manager
from shared.contracts.caller import Caller, Role
from shared.contracts.scheduling import CampaignCreate, CampaignView


def create_campaign(uow: SchedulingUnitOfWork, *, caller: Caller, cmd: CampaignCreate) -> CampaignView:
    require_manager(caller, cmd.township_code)
    row = orm.Campaign(township_code=cmd.township_code, theme=cmd.theme, description=cmd.description,
                       first_day=cmd.first_day, last_day=cmd.last_day, created_by=caller.staff_id)
    uow.campaigns.add(row)
    uow.commit()
    return _campaign_view(row)


def list_campaigns(uow: SchedulingUnitOfWork, *, caller: Caller) -> list[CampaignView]:
    if caller.role is Role.PUBLIC:
        return []
    return [_campaign_view(row) for row in uow.campaigns.visible_to(caller)]


def _campaign_view(row: orm.Campaign) -> CampaignView:
    return CampaignView(id=row.id, township_code=row.township_code, theme=row.theme, description=row.description,
                        first_day=row.first_day, last_day=row.last_day)
