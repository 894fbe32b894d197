"""Deploying Pixelator: the template (``template``), the Lambda package (``package``), the stack on AWS or
the local stack (``stack``), and what moto's CloudFormation leaves out (``emulate``). ``cli`` holds the
``pixelate deploy``, ``destroy`` and ``package`` commands. Nothing here is imported by the Lambda.
"""
