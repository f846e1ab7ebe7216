"""Stand-ins for the outside systems, speaking their documented wire protocols over real HTTP: WeChat
(`wechat`), Aliyun SMS (`aliyun_sms`), EMS (`ems`) and the enterprise credit service (`credit`), started
together by `launcher`. Used by demo mode, the tests and the benches; production code never imports them."""
