"""One villager booking one slot, as its own process: the parallel-booking test starts twenty of these
so that they meet in PostgreSQL at the same moment. Prints the outcome."""
import sys
import time
from datetime import UTC, datetime

from services.scheduling.adapters import orm
from services.scheduling.service_layer import appointments
from shared.contracts.caller import Caller
from shared.contracts.scheduling import BookingCreate
from shared.db import ServiceDatabase
from shared.errors import Conflict
from shared.pii import PersonalDataVault
from shared.settings import DEVELOPMENT_PII_KEY

url, slot_id, index, start_at = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
db = ServiceDatabase("scheduling", orm.Base.metadata, url)
uow = db.unit_of_work()
uow.session.connection()  # connect before the start line, so all twenty race on the UPDATE itself
while time.time() < start_at:
    time.sleep(0.001)
try:
    appointments.book(uow, caller=Caller.public(), slot_id=slot_id, vault=PersonalDataVault(DEVELOPMENT_PII_KEY),
                      now=datetime.now(UTC), cmd=BookingCreate(name=f"村民{index}", phone=f"139{index:08d}"))
    print("booked")
except Conflict as exc:
    print(exc.code)
finally:
    uow.close()
    db.dispose()
