"""Stand-ins for provider services that ship with the package: `nextstep demo
--google-sandbox` serves the Google emulator beside the app, and the tests drive the Google
adapter against the same emulator."""
