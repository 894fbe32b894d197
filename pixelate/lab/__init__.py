"""What the notebooks call: samples and colour error (``explore``), figures (``plots``), the Lambda cost model
(``cost``), contact sheets (``contact_sheet``) and notebook output hygiene (``notebook_outputs``). Nothing here
runs in the Lambda."""
