"""The console offers a role only the places the access matrix lets it use, and each place is a page."""
from __future__ import annotations

from gateway.pages.nav import HEADER, PLACES, header_for, places_for
from shared.contracts.access import roles_for
from shared.contracts.caller import Caller, Role
from tests.support import api_routes


def test_every_place_is_offered_only_to_roles_the_matrix_lets_call_its_rpc():
    for place in PLACES:
        assert place.roles <= roles_for(place.action), (place.href, place.roles - roles_for(place.action))


def test_the_header_holds_a_few_of_the_roles_own_places():
    for role, hrefs in HEADER.items():
        staff = Caller(staff_id=1, role=role, township_code=None if role is Role.COUNTY_ADMIN else "431099101",
                        county_code="431099")
        assert [p.href for p in header_for(staff)] == list(hrefs)
        assert set(hrefs) <= {p.href for p in places_for(staff)} and len(hrefs) <= 4


def test_a_village_agent_is_not_offered_the_supervisors_places():
    agent = {p.href for p in places_for(Caller(staff_id=1, role=Role.VILLAGE_AGENT, township_code="431099101"))}
    assert "/console/applications/new" in agent and "/console/overview" not in agent and "/console/admin" not in agent
    assert places_for(None) == [] and header_for(None) == []



def test_every_place_is_served_by_a_page_route():
    from gateway.app import create_app
    from gateway.rpc import ServiceCalls
    from shared.settings import Settings

    app = create_app(Settings(), ServiceCalls(client=None))  # type: ignore[arg-type]
    pages = [route for route in api_routes(app.routes) if "GET" in route.methods]
    missing = [p.href for p in PLACES if not any(route.path_regex.match(p.href) for route in pages)]
    assert not missing, f"places with no page yet: {missing}"
