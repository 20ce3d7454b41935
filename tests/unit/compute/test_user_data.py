from __future__ import annotations

from nimbus.compute.objects import guest_user_data


def test_guest_user_data_is_the_decoded_base64_the_api_took() -> None:
    assert guest_user_data("IyEvYmluL3NoCmVjaG8gaGkK") == b"#!/bin/sh\necho hi\n"


def test_guest_user_data_that_is_not_base64_goes_as_it_came() -> None:
    assert guest_user_data("not base64!") == b"not base64!"
    assert guest_user_data("") is None and guest_user_data(None) is None
