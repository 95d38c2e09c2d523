async def test_menu_then_guide(harness):
    alice = harness.user()
    assert "请回复数字选择服务" in await alice.send("你好")
    reply = await alice.send("使用指南")
    assert "您想了解哪方面的内容" in reply
