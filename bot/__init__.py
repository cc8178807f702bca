"""kmbot: the Wants & Offers Marketplace bot. docs/ARCHITECTURE.md maps its packages and layers."""
