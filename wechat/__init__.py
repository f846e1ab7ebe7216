"""The WeChat official account as we speak to it: API client, callback, OAuth2 binding, JS-SDK, menu."""
