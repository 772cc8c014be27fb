"""The sandbox creator platform: a local creator-inbox web app that workers drive.

It stands in for OnlyFans/Fansly-like sites: a login page, an inbox and chat pages built
by JavaScript from JSON, a composer that records how text was typed, and the guards of a
careful platform (send pacing, automation flags). Its DOM follows the contract in
`browser_profiles/sandbox.toml`. `sandbox.app.create_app` builds the app,
`sandbox.server.serve` runs it, and `sandbox.control` documents the control API that
seeds and inspects it in the demo and tests.
"""
