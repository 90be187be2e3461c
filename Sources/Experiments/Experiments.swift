import RiverValley
import Trainer
