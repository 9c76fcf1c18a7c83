"""Credit service: a public credit information platform with due process.

The rules and algorithms live in ``domain/`` (plain Python); models, use cases, API, CLI
and portal pages are wired on top of them by the platform layer.
"""
