from hallserver.cli import main


def test_cli_runs(capsys):
    assert main([]) == 0
    assert "govhall" in capsys.readouterr().out
