from nimbus.core.db import env_main
from nimbus.volume.models import Base

env_main(Base.metadata)
