"""The pretend iPhone: media, and later the services a real phone speaks.

This package plays the phone in tests and demos, so it imports nothing from ``companion``: the
phone does not read our code. It may use the standard library, Pillow and pillow_heif only.
``companion.simulator.media`` makes a deterministic camera roll from a seed.
"""
