"""The rendered demo site of each engine: the browser and PDF checks run on both."""

import pytest

ENGINES = ("embedded", "quarto")


@pytest.fixture(params=ENGINES)
def rendered_site(request):
    """The project folder of the small demo, rendered by one engine (Quarto's is skipped,
    saying why, where Quarto is not installed)."""
    return request.getfixturevalue("small_site" if request.param == "embedded" else "quarto_site")
