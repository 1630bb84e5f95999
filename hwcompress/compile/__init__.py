"""Everything that touches FINN. Import lazily: ``import hwcompress`` must not import finn."""
