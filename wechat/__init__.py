"""The WeChat official account: API client, callback, OAuth2 binding, JS-SDK, menu, and the local emulator."""
