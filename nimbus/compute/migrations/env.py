from nimbus.compute.models import Base
from nimbus.core.db import env_main

env_main(Base.metadata)
