"""Reports: what notebooks hand to the reports (`outputs`), rendering with Quarto or the embedded
engine (`render`), and the provenance record every report ends with."""
