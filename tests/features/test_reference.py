from pathlib import Path

from features.reference import CONTRACT, render_ops_markdown
from features.spec import load_operations

OPS_MD = Path(__file__).resolve().parents[2] / "docs" / "ops.md"


def test_docs_ops_md_is_the_generated_reference():
    # regenerate with: python -c "from features.reference import render_ops_markdown as r;
    #                  open('docs/ops.md', 'w').write(r())"
    assert OPS_MD.read_text() == render_ops_markdown()


def test_every_op_has_its_contract_documented():
    assert set(CONTRACT) == set(load_operations())
    text = render_ops_markdown()
    for op in load_operations():
        assert f"### `{op}`" in text
