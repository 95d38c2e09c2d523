"""The two query journeys driven from the menu buttons, for tests that need a query as one
step (lockout, privacy)."""

from __future__ import annotations

from tests.support.privacy import ScannedUser

SMALL_CAR = "2"  # the plate-type choice 小型汽车


async def query_vehicle(user: ScannedUser, plate: str, vin6: str,
                        plate_type: str = SMALL_CAR) -> str:
    await user.click("QUERY_VEHICLE")
    await user.send(plate_type)
    await user.send(plate)
    return await user.send(vin6)


async def query_licence(user: ScannedUser, name: str, number: str, file_number: str) -> str:
    await user.click("QUERY_LICENCE")
    await user.send(name)
    await user.send(number)
    return await user.send(file_number)
