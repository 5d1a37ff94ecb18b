"""The built-in provider emulator: OpenAI Videos and Azure Sora jobs, served under /emulator/.

It is the zero-config provider and what every test talks to over real HTTP. Layout: urls.py
(routes), endpoint.py (key, api-version, limits, faults around every call), openai_* and azure_*
(each protocol's validation and views), lifecycle.py and render.py (a job's state from the clock
and its JSON), media.py and content.py (real MP4/WebP/JPEG bytes, Range), faults.py and control.py
(misbehaviour switches and counters), directives.py (per-job behaviour from the prompt).
"""
