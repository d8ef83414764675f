def test_packages_import() -> None:
    import actors
    import frameworks
    import transport

    assert transport and actors and frameworks
