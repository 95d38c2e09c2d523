"""Every vehicle and licence of the demo data set queried over the endpoint: no reply shows a
full ID number, phone or VIN, nor a holder's full name.

Masking does not depend on the database, so this long walk (2,500 messages) runs on SQLite
only; the journey tests run on both.
"""

from __future__ import annotations

import pytest

from bot.demo_data import seed_demo
from models.licence import DriverLicence
from models.vehicle import Vehicle
from tests.support.privacy import ScannedUser


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_no_reply_over_the_demo_data_shows_personal_data(harness):
    await seed_demo()
    user = harness.user("openid-erin")
    lists = 0
    for licence in await DriverLicence.all().order_by("id"):
        erin = ScannedUser(user, secrets=(licence.holder_name,))
        await erin.click("QUERY_LICENCE")
        await erin.send(licence.holder_name)
        await erin.send(licence.number)
        reply = await erin.send(licence.file_number)
        assert "驾驶证号：" in reply
        lists += "1. " in reply
        await erin.send("1")
    for vehicle in await Vehicle.all().order_by("id"):
        erin = ScannedUser(user, secrets=(vehicle.owner_name,))
        await erin.click("QUERY_VEHICLE")
        await erin.send(vehicle.plate_type.value)
        await erin.send(vehicle.plate_number)
        reply = await erin.send(vehicle.vin)
        assert vehicle.plate_number in reply
        lists += "1. " in reply
        await erin.send("1")
    assert lists > 300  # most of them have violations, whose details were opened too
