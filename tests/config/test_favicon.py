from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders


@pytest.mark.django_db
def test_browsers_asking_for_favicon_ico_get_the_clubs_icon(client) -> None:
    # given a browser on a page without an icon link (the admin), asking the usual place
    response = client.get("/favicon.ico")

    # then it is sent to the club's SVG icon, which exists and is an SVG with its namespace
    assert response.status_code == 302
    assert response["Location"].endswith("img/favicon.svg")
    path = finders.find("img/favicon.svg")
    with open(path, encoding="utf-8") as icon:
        assert icon.read().startswith('<svg xmlns="http://www.w3.org/2000/svg"')


@pytest.mark.django_db
def test_pages_name_their_icon(client) -> None:
    assert 'rel="icon" href="/static/img/favicon.svg"' in client.get("/").content.decode()
